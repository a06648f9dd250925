import type { BackendInfo, RewardSpec } from '../core/contract/backend-info.js';
import type { CandidateRef, HeldCandidate, PromptCandidates, TakePrompt, TakeSpec } from '../core/contract/candidates.js';
import { groupRefs, promptSpecs } from '../core/contract/candidate-groups.js';
import type { CollectPlan, TweedieChunk, WorkerCollectSource } from '../core/contract/collect.js';
import { CandidateMissingError, CandidateNotFoundError, WorkerDrainingError, WorkerDrainingRefusal } from '../core/contract/errors.js';
import type { WorkerClient, WorkerStatus } from '../core/contract/worker-client.js';
import type { WorkerRuntime } from './runtime.js';

/** Calls a WorkerRuntime in this process; errors are translated as the coordinator's gRPC client would. */
export class InProcessWorkerClient implements WorkerClient {
  /** the last take, advance or release: the next one starts after it (they apply in the order called) */
  private tail: Promise<unknown> = Promise.resolve();

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

  take(job: string, prompts: readonly TakePrompt[]): Promise<void> {
    return this.inOrder(() => this.runtime.take(job, promptSpecs(prompts)));
  }

  advance(job: string, toStep: number, groups: readonly PromptCandidates[], rewards: readonly RewardSpec[], previews = false): Promise<void> {
    return this.inOrder(async () => void this.runtime.advance(job, toStep, groupRefs(groups), rewards, previews));
  }

  release(job: string, groups: readonly PromptCandidates[] = []): Promise<void> {
    return this.inOrder(async () => void this.runtime.release(job, groupRefs(groups)));
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

  async holdings(): Promise<HeldCandidate[]> {
    return this.runtime.holdings();
  }

  collect(job: string, specs: readonly TakeSpec[], plan: CollectPlan, fingerprint: string, onTweedie?: (chunk: TweedieChunk) => Promise<void> | void): Promise<Float32Array> {
    return this.translate(() => this.runtime.collect(job, specs, plan, fingerprint, onTweedie));
  }

  async collectSource(): Promise<WorkerCollectSource> {
    return { ...this.runtime.collectSource(), info: this.runtime.info };
  }

  close(): void {}

  private inOrder(fn: () => Promise<void>): Promise<void> {
    const p = this.tail.then(() => this.translate(fn));
    this.tail = p.catch(() => undefined);
    return p;
  }

  private async translate<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof CandidateNotFoundError) throw new CandidateMissingError(err.message, { cause: err });
      if (err instanceof WorkerDrainingError) throw new WorkerDrainingRefusal(this.id, err.message, { cause: err });
      throw err;
    }
  }
}
