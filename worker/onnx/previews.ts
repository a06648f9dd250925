import type { CandidateKey } from '../../core/contract/candidates.js';

/**
 * Receives the decoded image each reward call scored (the Tweedie estimate at a prune point, the final image
 * at the last step), for contact sheets. The backend options carry only strings, so a sink is registered
 * under an id and the backend is given `--previews <id>`; one sink per search, removed when it is done.
 */
export interface PreviewSink {
  /** image: [3, H, W] in [-1, 1] (a copy the sink may keep) */
  add(key: CandidateKey, step: number, image: Float32Array, height: number, width: number): void;
}

const sinks = new Map<string, PreviewSink>();
let counter = 0;

/** Registers a sink; returns its id and a function that removes it. */
export function registerPreviewSink(sink: PreviewSink): { id: string; remove: () => void } {
  const id = `previews-${process.pid}-${++counter}`;
  sinks.set(id, sink);
  return { id, remove: () => sinks.delete(id) };
}

export function previewSink(id: string): PreviewSink | undefined {
  return sinks.get(id);
}
