import type { CandidateKey } from './backend.js';

/** A candidate of a job, as the coordinator names it. */
export interface CandidateRef {
  readonly prompt: number;
  readonly candidate: number;
}

/** The backend key of a candidate: unique per worker across jobs. */
export function candidateKey(job: string, ref: CandidateRef): CandidateKey {
  return `${job}/${ref.prompt}/${ref.candidate}`;
}

/** Serialises async operations: the backend sees one call at a time (see WorkerBackend's contract). */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
