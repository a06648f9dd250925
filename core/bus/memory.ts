import type { Score, ScoreBus, ScoreHandler } from './score-bus.js';

/**
 * In-process bus for the embedded mode and tests. Delivery is deferred to a microtask so that publishers
 * never re-enter the coordinator synchronously (the same ordering hazards as a real bus, none of the I/O).
 */
export class MemoryScoreBus implements ScoreBus {
  private readonly handlers = new Set<ScoreHandler>();
  private closed = false;

  publish(scores: readonly Score[]): void {
    if (this.closed || scores.length === 0) return;
    const copy = scores.slice();
    queueMicrotask(() => {
      for (const s of copy) for (const h of this.handlers) h(s);
    });
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
  }
}
