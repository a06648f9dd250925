/**
 * The score bus: workers publish each score under its key (job, prompt, candidate, step, reward); the
 * coordinator subscribes once and routes by job. Implementations: NATS (nats.ts) and in-process (memory.ts).
 * Delivery is at most once on either: the coordinator deduplicates and asks again for what is missing.
 */
export interface ScoreKey {
  readonly job: string;
  readonly prompt: number;
  readonly candidate: number;
  readonly step: number;
  readonly reward: string;
}

export interface Score extends ScoreKey {
  readonly value: number;
  /** id of the worker that computed it (the coordinator ignores scores from a worker that no longer holds the candidate) */
  readonly worker: string;
  /** that worker's busy seconds spent on this job so far (for the job's timeline) */
  readonly busy_s: number;
}

export type ScoreHandler = (score: Score) => void;

/**
 * A batch that failed on a worker (its backend threw, or the watchdog gave up on it), pushed at once so that the
 * coordinator puts the candidates back without waiting for the score timeout. One per job in the batch.
 */
export interface BatchFailure {
  readonly job: string;
  readonly worker: string;
  /** the candidates of the job in the batch, and the step each was being advanced to */
  readonly candidates: readonly { readonly prompt: number; readonly candidate: number; readonly step: number }[];
  readonly error: string;
}

/**
 * search --contact-sheets: what a reward call saw of one candidate at one step, as a PNG thumbnail, with what each
 * reward said of it. A worker publishes it just before the candidate's scores, so the coordinator has it once the
 * prompt can finish. At most once, as scores (a lost one is a picture missing from the sheet, which says so).
 */
export interface PreviewMessage {
  readonly job: string;
  readonly worker: string;
  readonly prompt: number;
  readonly candidate: number;
  readonly step: number;
  readonly png: Uint8Array;
  readonly scores: Readonly<Record<string, number>>;
}

export interface ScoreBus {
  /** Fire and forget; failures are counted through the bus's error callback. */
  publish(scores: readonly Score[]): void;
  /** Receives every score published after the call; returns an unsubscribe function. */
  subscribe(handler: ScoreHandler): () => void;
  /** Fire and forget, as publish; at most once (the coordinator's re-request still learns of a lost one). */
  publishFailure(failure: BatchFailure): void;
  /** Receives failures published after the call, once subscribe() has been called; returns an unsubscribe function. */
  onFailure(handler: (failure: BatchFailure) => void): () => void;
  /** Fire and forget, as publish (buses without previews lack these two). */
  publishPreview?(preview: PreviewMessage): void;
  /** Receives previews published after the call, once subscribe() has been called; returns an unsubscribe function. */
  onPreview?(handler: (preview: PreviewMessage) => void): () => void;
  /** Resolves once everything published so far has left this process. */
  flush(): Promise<void>;
  /**
   * Calls `handler` each time the bus is connected again after losing its server (scores published meanwhile
   * may be lost: the coordinator asks for its missing ones at once instead of after the score timeout).
   * Buses that cannot lose a server never call it. Returns an unsubscribe function.
   */
  onReconnect?(handler: () => void): () => void;
  /** Idempotent. */
  close(): Promise<void>;
}

/** Job ids and reward names travel as subject tokens: keep them to this alphabet. */
export const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

export type BusErrorHandler = (op: 'publish' | 'subscribe' | 'decode' | 'connect', err: unknown) => void;
