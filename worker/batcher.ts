import type { RewardSpec } from '../core/contract/backend-info.js';
import type { WorkerBackend } from './backend.js';
import type { Mutex } from './mutex.js';
import type { WorkItem, WorkQueue } from './queue.js';

/** What the batcher reports; the runtime turns it into scores, cache entries, busy time and metrics. */
export interface BatchHooks {
  advanced(batch: readonly WorkItem[], seconds: number): void;
  /** `values[j][r]`: item j's score under rewards[r]; only items still queued (not released meanwhile) */
  scored(items: readonly WorkItem[], rewards: readonly RewardSpec[], values: readonly number[][], seconds: number): void;
  failed(batch: readonly WorkItem[], message: string): void;
  /** a backend call outlived the watchdog: the accelerator is stuck, nothing more runs here */
  stuck(batch: readonly WorkItem[], message: string): void;
}

interface Batch {
  readonly kind: 'advance' | 'score';
  readonly items: WorkItem[];
  readonly run: Promise<void>;
}

/**
 * Continuous batching on one backend: each pass advances candidates that are behind their target by one step
 * (at most maxBatch, mixing prompts and jobs: jobs take turns, each job's oldest first), or scores candidates
 * that reached it.
 */
export class Batcher {
  private pumping = false;
  private idleWaiters: (() => void)[] = [];
  /** set once a call outlived the watchdog; a stuck accelerator call cannot be taken back, so batching stops */
  stuck = false;
  /** the score batch running beside advances (backends with overlapsScoring), and its items, which no other batch takes */
  private scoring: Batch | null = null;
  private readonly inFlight = new Set<WorkItem>();

  constructor(
    private readonly backend: WorkerBackend,
    private readonly queue: WorkQueue,
    private readonly mutex: Mutex,
    private readonly signal: AbortSignal,
    private readonly hooks: BatchHooks,
    /** longest a backend call may take (the batch watchdog) */
    private readonly watchdogMs = Number.POSITIVE_INFINITY,
  ) {}

  /** Starts working through the queue unless already at it. */
  kick(): void {
    if (this.pumping || this.signal.aborted || this.stuck) return;
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
      this.wakeIdle();
      if (this.queue.size > 0 && !this.signal.aborted) this.kick();
    });
  }

  /** Resolves when nothing is queued and nothing runs. */
  idle(): Promise<void> {
    if ((this.queue.size === 0 && !this.pumping) || this.stuck) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Wakes idle() waiters if the queue emptied without a pass (release, close). */
  wakeIdle(): void {
    if ((this.queue.size > 0 && !this.signal.aborted) || this.pumping) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private async pump(): Promise<void> {
    const max = this.backend.info.maxBatch;
    const stepOf = (it: WorkItem): number => this.backend.stepOf(it.key) ?? Number.POSITIVE_INFINITY;
    const free = (it: WorkItem): boolean => !this.inFlight.has(it);
    const ready = (it: WorkItem): boolean => free(it) && stepOf(it) === it.toStep;
    const behind = (it: WorkItem): boolean => free(it) && stepOf(it) < it.toStep;
    try {
      while (this.queue.size > 0 && !this.signal.aborted) {
        const nReady = this.queue.count(ready, max);
        const nBehind = this.queue.count(behind, max);
        // Score in full batches while the accelerator has enough to advance; otherwise right away (latency).
        const batch = nReady > 0 && (nReady >= max || nBehind < max) ? this.score(ready, max) : nBehind > 0 ? this.advance(behind, max) : null;
        if (!batch) {
          // what is left is being scored beside, or its candidates are gone
          if (this.scoring) {
            if (!(await this.settle(this.scoring))) return;
            continue;
          }
          for (const it of this.queue.take(Infinity, () => true)) this.queue.delete(it.key);
          continue;
        }
        if (batch.kind === 'score' && this.backend.overlapsScoring === true) {
          // one score call runs beside the advances; the next one waits for it
          if (this.scoring && !(await this.settle(this.scoring))) return;
          this.scoring = batch;
          batch.run.catch(() => undefined); // settle() reports its failure; this keeps it from being unhandled meanwhile
          for (const it of batch.items) this.inFlight.add(it);
          continue;
        }
        if (!(await this.settle(batch))) return;
      }
    } finally {
      if (this.scoring) await this.settle(this.scoring);
    }
  }

  /** Waits for a batch within the watchdog; false when it got stuck (batching stops). */
  private async settle(batch: Batch): Promise<boolean> {
    try {
      if (!(await this.withinWatchdog(batch.run))) {
        this.stuck = true;
        for (const it of batch.items) if (this.queue.get(it.key) === it) this.queue.delete(it.key);
        this.hooks.stuck(batch.items, `a backend call on ${batch.items.length} candidates took longer than the ${this.watchdogMs / 1000} s watchdog`);
        return false;
      }
    } catch (err) {
      if (this.signal.aborted) return false;
      // A failing batch must not stall the others: its items leave the queue and the failure is reported.
      for (const it of batch.items) if (this.queue.get(it.key) === it) this.queue.delete(it.key);
      this.hooks.failed(batch.items, err instanceof Error ? err.message : String(err));
    } finally {
      if (batch === this.scoring) {
        this.scoring = null;
        for (const it of batch.items) this.inFlight.delete(it);
      }
    }
    return true;
  }

  /** True when `run` settles within the watchdog (rejections pass through), false when the watchdog fires first. */
  private async withinWatchdog(run: Promise<void>): Promise<boolean> {
    if (!Number.isFinite(this.watchdogMs)) return run.then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const watchdog = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.watchdogMs)));
    try {
      return await Promise.race([run.then(() => true as const), watchdog]);
    } finally {
      clearTimeout(timer);
    }
  }

  private advance(behind: (it: WorkItem) => boolean, max: number): Batch {
    const items = this.queue.takeByJobTurns(max, behind);
    const run = (async () => {
      const t0 = performance.now();
      const steps = items.map((it) => ({ key: it.key, toStep: (this.backend.stepOf(it.key) as number) + 1 }));
      await this.mutex.run(() => this.backend.advance(steps, this.signal));
      this.hooks.advanced(items, (performance.now() - t0) / 1000);
    })();
    return { kind: 'advance', items, run };
  }

  private score(ready: (it: WorkItem) => boolean, max: number): Batch {
    const first = this.queue.take(1, ready)[0] as WorkItem;
    const items = this.queue.take(max, (it) => it.rewardsId === first.rewardsId && ready(it));
    // beside advances (overlapsScoring) the call skips the mutex; the batcher keeps one such call in flight
    const call = (): Promise<Float64Array[]> => this.backend.score(items.map((it) => it.key), first.rewards, this.signal);
    const run = (async () => {
      const t0 = performance.now();
      const values = await (this.backend.overlapsScoring === true ? call() : this.mutex.run(call));
      const done: WorkItem[] = [];
      const rows: number[][] = [];
      items.forEach((it, j) => {
        if (this.queue.get(it.key) !== it) return; // released or replaced meanwhile
        this.queue.delete(it.key);
        done.push(it);
        rows.push(first.rewards.map((_, r) => (values[r] as Float64Array)[j] as number));
      });
      this.hooks.scored(done, first.rewards, rows, (performance.now() - t0) / 1000);
    })();
    return { kind: 'score', items, run };
  }
}
