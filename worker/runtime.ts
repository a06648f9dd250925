import type { Score, ScoreBus } from '../core/bus/score-bus.js';
import { NO_METRICS, type MetricsSink } from '../core/metrics/sink.js';
import type { BackendInfo, CandidateKey, RewardSpec, WorkerBackend } from './backend.js';
import { CandidateNotFoundError, CandidateStateError, WorkerDrainingError } from './errors.js';
import { candidateKey, Mutex, type CandidateRef } from './keys.js';
import { rewardsId, WorkQueue, type WorkItem } from './queue.js';

export interface WorkerRuntimeOptions {
  /** worker id published with every score */
  readonly id: string;
  readonly backend: WorkerBackend;
  readonly bus: ScoreBus;
  readonly metrics?: MetricsSink;
}

export interface TakeSpec extends CandidateRef {
  readonly seed: number;
  readonly text: string;
}

export interface WorkerStatus {
  readonly info: BackendInfo;
  readonly live: number;
  readonly queued: number;
  readonly busySeconds: number;
  /** denoise batches run and candidate steps in them (mean batch fill = steps / batches) */
  readonly batches: number;
  readonly steps: number;
}

interface Cached {
  readonly step: number;
  readonly scores: readonly Score[];
}

/**
 * One worker's engine room, shared by the gRPC server and the in-process client: holds the queue of
 * segments, batches them across prompts and jobs onto the backend (continuous batching: each call advances
 * the oldest candidates by one step), scores candidates that reach their target and publishes the scores.
 */
export class WorkerRuntime {
  private ident: string;
  private readonly backend: WorkerBackend;
  private readonly bus: ScoreBus;
  private readonly metrics: MetricsSink;
  private readonly queue = new WorkQueue();
  private readonly cache = new Map<CandidateKey, Cached>();
  /** candidates whose last batch failed, with the error, reported on the next Advance for them */
  private readonly failures = new Map<CandidateKey, string>();
  private readonly busyByJob = new Map<string, number>();
  private readonly mutex = new Mutex();
  private readonly abort = new AbortController();
  private live = 0;
  private busy = 0;
  private batches = 0;
  private steps = 0;
  private pumping = false;
  private draining = false;
  private idleWaiters: (() => void)[] = [];

  constructor(opts: WorkerRuntimeOptions) {
    this.ident = opts.id;
    this.backend = opts.backend;
    this.bus = opts.bus;
    this.metrics = opts.metrics ?? NO_METRICS;
  }

  /** Worker id published with every score. */
  get id(): string {
    return this.ident;
  }

  /**
   * Names the worker once its address is known (a server on port 0 learns its port after binding).
   * Only before the first candidate: scores already published carry the old id.
   */
  assignId(id: string): void {
    if (this.live > 0 || this.queue.size > 0) throw new Error('a worker is named before it takes candidates');
    this.ident = id;
  }

  get info(): BackendInfo {
    return this.backend.info;
  }

  status(): WorkerStatus {
    return { info: this.backend.info, live: this.live, queued: this.queue.size, busySeconds: this.busy, batches: this.batches, steps: this.steps };
  }

  /** Creates candidates at step -1. Refused while draining. */
  async take(job: string, specs: readonly TakeSpec[]): Promise<void> {
    if (this.draining) throw new WorkerDrainingError();
    // Not behind the mutex: creating candidates must not wait for the batch in flight (see WorkerBackend).
    await this.backend.create(
      specs.map((s) => ({ key: candidateKey(job, s), prompt: s.prompt, candidate: s.candidate, seed: s.seed, text: s.text })),
      this.abort.signal,
    );
    this.recount();
  }

  /**
   * Queues: advance each candidate to `toStep` and score it. A candidate already at `toStep` with cached scores
   * has them published again (the coordinator's re-request); a duplicate of a queued item is ignored.
   * Checks every candidate before queueing any. Returns how many were queued.
   */
  advance(job: string, toStep: number, refs: readonly CandidateRef[], rewards: readonly RewardSpec[]): number {
    const keys = refs.map((r) => candidateKey(job, r));
    const steps = keys.map((k) => {
      const failed = this.failures.get(k);
      if (failed !== undefined) {
        this.failures.delete(k);
        throw new CandidateStateError(`candidate ${k} failed on this worker: ${failed}`);
      }
      const step = this.backend.stepOf(k);
      if (step === undefined) throw new CandidateNotFoundError(k);
      if (step > toStep) throw new CandidateStateError(`candidate ${k} is at step ${step}, past ${toStep}`);
      return step;
    });
    if (toStep >= this.backend.info.steps) throw new CandidateStateError(`step ${toStep} is past the last step ${this.backend.info.steps - 1}`);
    const id = rewardsId(rewards);
    let queued = 0;
    keys.forEach((key, j) => {
      const ref = refs[j] as CandidateRef;
      const cached = this.cache.get(key);
      if (steps[j] === toStep && cached?.step === toStep && cached.scores.length === rewards.length) {
        this.bus.publish(cached.scores);
        return;
      }
      if (this.queue.get(key)?.toStep === toStep) return;
      this.queue.push({ key, job, prompt: ref.prompt, candidate: ref.candidate, toStep, rewards, rewardsId: id });
      queued++;
    });
    this.metrics.set('workerLiveCandidates', this.live);
    this.kick();
    return queued;
  }

  /** Drops candidates (all of the job's when `refs` is empty) and their queued work. */
  release(job: string, refs: readonly CandidateRef[] = []): number {
    let keys: CandidateKey[];
    if (refs.length > 0) {
      keys = refs.map((r) => candidateKey(job, r));
      for (const k of keys) this.queue.delete(k);
    } else {
      this.queue.dropJob(job);
      const prefix = `${job}/`;
      keys = [...this.cache.keys(), ...this.failures.keys()].filter((k) => k.startsWith(prefix));
      keys.push(...this.liveKeysOf(prefix));
      this.busyByJob.delete(job);
    }
    const before = this.live;
    this.backend.release(keys);
    for (const k of keys) {
      this.cache.delete(k);
      this.failures.delete(k);
    }
    this.recount();
    this.wakeIdle();
    return before - this.live;
  }

  async exportLatent(job: string, ref: CandidateRef, release: boolean): Promise<{ state: Uint8Array; step: number }> {
    const key = candidateKey(job, ref);
    if (this.queue.has(key)) throw new CandidateStateError(`candidate ${key} has queued work; export it between segments`);
    const step = this.backend.stepOf(key);
    if (step === undefined) throw new CandidateNotFoundError(key);
    const state = await this.mutex.run(() => this.backend.exportState(key));
    if (release) this.release(job, [ref]);
    return { state, step };
  }

  async importLatent(job: string, ref: CandidateRef, state: Uint8Array): Promise<number> {
    if (this.draining) throw new WorkerDrainingError();
    const step = await this.mutex.run(() => this.backend.importState(candidateKey(job, ref), state));
    this.recount();
    return step;
  }

  async render(job: string, ref: CandidateRef): Promise<Uint8Array> {
    const key = candidateKey(job, ref);
    const render = this.backend.render?.bind(this.backend);
    if (!render || !this.backend.info.renders) throw new CandidateStateError(`backend ${this.backend.info.backend} does not render images`);
    if (this.backend.stepOf(key) === undefined) throw new CandidateNotFoundError(key);
    return this.mutex.run(() => render(key, this.abort.signal));
  }

  /** Stops taking new candidates; queued work continues. */
  startDrain(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Resolves when no work is queued and nothing runs. */
  idle(): Promise<void> {
    if (this.queue.size === 0 && !this.pumping) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get liveCandidates(): number {
    return this.live;
  }

  /** Aborts running work and frees the backend; idempotent. */
  async close(): Promise<void> {
    this.draining = true;
    this.abort.abort(new WorkerDrainingError());
    this.wakeIdle();
    await this.mutex.run(() => this.backend.close());
  }

  private kick(): void {
    if (this.pumping || this.abort.signal.aborted) return;
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
      this.wakeIdle();
      if (this.queue.size > 0 && !this.abort.signal.aborted) this.kick();
    });
  }

  private async pump(): Promise<void> {
    const max = this.backend.info.maxBatch;
    const stepOf = (it: WorkItem): number => this.backend.stepOf(it.key) ?? Number.POSITIVE_INFINITY;
    while (this.queue.size > 0 && !this.abort.signal.aborted) {
      const ready = (it: WorkItem): boolean => stepOf(it) === it.toStep;
      const behind = (it: WorkItem): boolean => stepOf(it) < it.toStep;
      const nReady = this.queue.count(ready, max);
      const nBehind = this.queue.count(behind, max);
      // Score in full batches while the accelerator has enough to advance; otherwise right away (latency).
      const batch =
        nReady > 0 && (nReady >= max || nBehind < max)
          ? this.scoreBatch(ready, max)
          : nBehind > 0
            ? this.advanceBatch(behind, max)
            : null;
      if (!batch) {
        for (const it of this.queue.take(Infinity, () => true)) this.queue.delete(it.key); // candidates gone
        continue;
      }
      try {
        await batch.run;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        // A failing batch must not stall the others: its items leave the queue, and the coordinator's
        // re-request of their scores is answered with the failure (Advance -> FAILED_PRECONDITION).
        const message = err instanceof Error ? err.message : String(err);
        for (const it of batch.items) {
          if (this.queue.get(it.key) === it) this.queue.delete(it.key);
          this.failures.set(it.key, message);
        }
        process.emitWarning(`worker ${this.id}: batch of ${batch.items.length} failed: ${message}`);
      }
    }
  }

  private advanceBatch(behind: (it: WorkItem) => boolean, max: number): { items: WorkItem[]; run: Promise<void> } {
    const batch = this.queue.take(max, behind);
    return { items: batch, run: this.runAdvance(batch) };
  }

  private async runAdvance(batch: readonly WorkItem[]): Promise<void> {
    const t0 = performance.now();
    await this.mutex.run(() =>
      this.backend.advance(
        batch.map((it) => ({ key: it.key, toStep: (this.backend.stepOf(it.key) as number) + 1 })),
        this.abort.signal,
      ),
    );
    this.charge(batch, (performance.now() - t0) / 1000);
    this.batches++;
    this.steps += batch.length;
    this.metrics.inc('workerDenoiseSteps', {}, batch.length);
    this.metrics.observe('workerBatchSize', batch.length);
  }

  private scoreBatch(ready: (it: WorkItem) => boolean, max: number): { items: WorkItem[]; run: Promise<void> } {
    const first = this.queue.take(1, ready)[0] as WorkItem;
    const batch = this.queue.take(max, (it) => it.rewardsId === first.rewardsId && ready(it));
    return { items: batch, run: this.runScore(batch, first) };
  }

  private async runScore(batch: readonly WorkItem[], first: WorkItem): Promise<void> {
    const t0 = performance.now();
    const values = await this.mutex.run(() => this.backend.score(batch.map((it) => it.key), first.rewards, this.abort.signal));
    this.charge(batch, (performance.now() - t0) / 1000);
    const out: Score[] = [];
    batch.forEach((it, j) => {
      if (this.queue.get(it.key) !== it) return; // released or replaced meanwhile
      this.queue.delete(it.key);
      const busy = this.busyByJob.get(it.job) ?? 0;
      const scores = first.rewards.map((r, ri) => ({
        job: it.job, prompt: it.prompt, candidate: it.candidate, step: it.toStep, reward: r.name,
        value: (values[ri] as Float64Array)[j] as number, worker: this.id, busy_s: busy,
      }));
      this.cache.set(it.key, { step: it.toStep, scores });
      out.push(...scores);
    });
    for (const r of first.rewards) this.metrics.inc('workerRewardCalls', { reward: r.name }, batch.length);
    this.bus.publish(out);
    this.metrics.inc('workerScoresPublished', {}, out.length);
  }

  /** Attributes a batch's seconds to its jobs in proportion to their candidates in it. */
  private charge(batch: readonly WorkItem[], seconds: number): void {
    this.busy += seconds;
    this.metrics.inc('workerBusySeconds', {}, seconds);
    const share = seconds / batch.length;
    for (const it of batch) this.busyByJob.set(it.job, (this.busyByJob.get(it.job) ?? 0) + share);
  }

  private liveKeysOf(prefix: string): CandidateKey[] {
    return this.backend.liveKeys().filter((k) => k.startsWith(prefix));
  }

  private recount(): void {
    this.live = this.backend.liveKeys().length;
    this.metrics.set('workerLiveCandidates', this.live);
  }

  private wakeIdle(): void {
    if (this.queue.size > 0 || this.pumping) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
