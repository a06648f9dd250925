import type { BatchFailure, PreviewMessage, Score, ScoreBus, ScoreHandler } from './score-bus.js';

/**
 * In-process bus for the embedded mode and tests. Delivery is deferred to a microtask so that publishers
 * never re-enter the coordinator synchronously (the same ordering hazards as a real bus, none of the I/O).
 */
export class MemoryScoreBus implements ScoreBus {
  private readonly handlers = new Set<ScoreHandler>();
  private readonly failureHandlers = new Set<(f: BatchFailure) => void>();
  private readonly previewHandlers = new Set<(p: PreviewMessage) => void>();
  private closed = false;

  publish(scores: readonly Score[]): void {
    if (this.closed || scores.length === 0) return;
    const copy = scores.slice();
    queueMicrotask(() => {
      for (const s of copy) for (const h of this.handlers) h(s);
    });
  }

  publishFailure(failure: BatchFailure): void {
    if (this.closed) return;
    queueMicrotask(() => {
      for (const h of this.failureHandlers) h(failure);
    });
  }

  onFailure(handler: (f: BatchFailure) => void): () => void {
    this.failureHandlers.add(handler);
    return () => this.failureHandlers.delete(handler);
  }

  publishPreview(preview: PreviewMessage): void {
    if (this.closed) return;
    queueMicrotask(() => {
      for (const h of this.previewHandlers) h(preview);
    });
  }

  onPreview(handler: (p: PreviewMessage) => void): () => void {
    this.previewHandlers.add(handler);
    return () => this.previewHandlers.delete(handler);
  }

  subscribe(handler: ScoreHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async flush(): Promise<void> {
    await Promise.resolve();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    this.failureHandlers.clear();
    this.previewHandlers.clear();
  }
}
