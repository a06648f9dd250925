import { TtsnapError } from '../core/errors.js';
import type { BackendInfo, RewardSpec } from '../worker/backend.js';
import type { CandidateRef } from '../worker/keys.js';
import type { TakeSpec, WorkerRuntime, WorkerStatus } from '../worker/runtime.js';

/**
 * How the coordinator talks to one worker. Implementations: in-process (below; embedded mode and the
 * benchmark) and gRPC (grpc-worker-client.ts). Both throw WorkerLostError when the worker is gone, and
 * CandidateMissingError when the worker no longer holds a candidate; everything else is a bug or bad input.
 */
export interface WorkerClient {
  readonly id: string;
  status(): Promise<WorkerStatus>;
  take(job: string, specs: readonly TakeSpec[]): Promise<void>;
  advance(job: string, toStep: number, refs: readonly CandidateRef[], rewards: readonly RewardSpec[]): Promise<void>;
  release(job: string, refs?: readonly CandidateRef[]): Promise<void>;
  exportLatent(job: string, ref: CandidateRef, release: boolean): Promise<{ state: Uint8Array; step: number }>;
  importLatent(job: string, ref: CandidateRef, state: Uint8Array): Promise<number>;
  render(job: string, ref: CandidateRef): Promise<Uint8Array>;
  close(): void;
}

/** The worker process is unreachable or refuses work (killed, disconnected, draining). */
export class WorkerLostError extends TtsnapError {
  constructor(
    readonly worker: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`worker ${worker}: ${reason}`, options);
  }
}

/** The worker is draining and refuses new candidates; it still holds (and advances) its own. */
export class WorkerDrainingRefusal extends WorkerLostError {}

/** The worker does not hold a candidate the coordinator placed there (restarted worker): recompute it. */
export class CandidateMissingError extends TtsnapError {}

/** Calls a WorkerRuntime in this process; errors keep their classes, translated as the gRPC edge would. */
export class InProcessWorkerClient implements WorkerClient {
  constructor(private readonly runtime: WorkerRuntime) {}

  get id(): string {
    return this.runtime.id;
  }

  get info(): BackendInfo {
    return this.runtime.info;
  }

  async status(): Promise<WorkerStatus> {
    return this.runtime.status();
  }

  take(job: string, specs: readonly TakeSpec[]): Promise<void> {
    return this.translate(() => this.runtime.take(job, specs));
  }

  advance(job: string, toStep: number, refs: readonly CandidateRef[], rewards: readonly RewardSpec[]): Promise<void> {
    return this.translate(async () => void this.runtime.advance(job, toStep, refs, rewards));
  }

  release(job: string, refs: readonly CandidateRef[] = []): Promise<void> {
    return this.translate(async () => void this.runtime.release(job, refs));
  }

  exportLatent(job: string, ref: CandidateRef, release: boolean): Promise<{ state: Uint8Array; step: number }> {
    return this.translate(() => this.runtime.exportLatent(job, ref, release));
  }

  importLatent(job: string, ref: CandidateRef, state: Uint8Array): Promise<number> {
    return this.translate(() => this.runtime.importLatent(job, ref, state));
  }

  render(job: string, ref: CandidateRef): Promise<Uint8Array> {
    return this.translate(() => this.runtime.render(job, ref));
  }

  close(): void {}

  private async translate<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      if (name === 'CandidateNotFoundError') throw new CandidateMissingError((err as Error).message, { cause: err });
      if (name === 'WorkerDrainingError') throw new WorkerDrainingRefusal(this.id, (err as Error).message, { cause: err });
      throw err;
    }
  }
}
