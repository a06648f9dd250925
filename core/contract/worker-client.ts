import type { BackendInfo, RewardSpec } from './backend-info.js';
import type { CandidateRef, HeldCandidate, PromptCandidates, TakePrompt, TakeSpec } from './candidates.js';
import type { CollectPlan, TweedieChunk, WorkerCollectSource } from './collect.js';

/** What a worker reports about itself (Capacity RPC; the in-process client reads it directly). */
export interface WorkerStatus {
  readonly info: BackendInfo;
  readonly live: number;
  readonly queued: number;
  readonly busySeconds: number;
  /** denoise batches run and candidate steps in them (mean batch fill = steps / batches) */
  readonly batches: number;
  readonly steps: number;
}

/**
 * How the coordinator talks to one worker. Implementations: in-process (worker/in-process-client.ts; embedded
 * mode and the benchmark) and gRPC (coordinator/grpc-worker-client.ts). Both throw WorkerLostError when the
 * worker is gone, and CandidateMissingError when the worker no longer holds a candidate (core/contract/errors.ts);
 * everything else is a bug or bad input. take, advance and release apply in the order they are called (the gRPC
 * client sends those of one turn of the event loop as one Batch call), so an advance may follow its take at once.
 */
export interface WorkerClient {
  readonly id: string;
  status(): Promise<WorkerStatus>;
  /**
   * take, advance and release name candidates by prompt (candidates.ts PromptCandidates), as the wire does; the
   * arrays become the client's (it may send them as they are, later in the turn), so the caller builds fresh ones.
   */
  take(job: string, prompts: readonly TakePrompt[]): Promise<void>;
  advance(job: string, toStep: number, groups: readonly PromptCandidates[], rewards: readonly RewardSpec[], previews?: boolean): Promise<void>;
  /** no groups, or none with candidates: every candidate of the job */
  release(job: string, groups?: readonly PromptCandidates[]): Promise<void>;
  exportLatent(job: string, ref: CandidateRef, release: boolean): Promise<{ state: Uint8Array; step: number }>;
  importLatent(job: string, ref: CandidateRef, state: Uint8Array): Promise<number>;
  render(job: string, ref: CandidateRef): Promise<Uint8Array>;
  /** Every candidate the worker holds (asked when it registers: a coordinator restart may have left it some). */
  holdings(): Promise<HeldCandidate[]>;
  /**
   * `ttsnap collect`: a batch to the end, its values [reward][base, narf][candidate][step] (worker/collect/chunk.ts);
   * the Tweedie images at the plan's saveTweedie steps go to `onTweedie` in pieces (candidate: index in the batch);
   * while a promise it returns is pending no further piece comes (a slow receiver holds the worker back)
   */
  collect(job: string, specs: readonly TakeSpec[], plan: CollectPlan, fingerprint: string, onTweedie?: (chunk: TweedieChunk) => Promise<void> | void): Promise<Float32Array>;
  collectSource(): Promise<WorkerCollectSource>;
  close(): void;
}
