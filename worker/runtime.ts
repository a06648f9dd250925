import { NO_LOG, type Logger } from '../core/log/logger.js';
import type { Score, ScoreBus } from '../core/bus/score-bus.js';
import { NO_METRICS, type MetricsSink } from '../core/metrics/sink.js';
import type { BackendInfo, RewardSpec } from '../core/contract/backend-info.js';
import { candidateKey, parseCandidateKey, type CandidateKey, type CandidateRef, type HeldCandidate, type TakeSpec } from '../core/contract/candidates.js';
import { CollectSourceMismatchError, type CollectPlan, type CollectSource, type TweedieChunk } from '../core/contract/collect.js';
import { CandidateNotFoundError, CandidateStateError, WorkerDrainingError } from '../core/contract/errors.js';
import type { WorkerStatus } from '../core/contract/worker-client.js';
import type { CandidateSpec, WorkerBackend } from './backend.js';
import { Mutex } from './mutex.js';
import { Batcher } from './batcher.js';
import { collectChunk } from './collect/chunk.js';
import { rewardsId, WorkQueue, type WorkItem } from './queue.js';
import { previewPng, type PendingPreview, type WorkerPreviews } from './previews.js';
import { GridBuffer } from '../core/grid-buffer.js';
import { gridDelay } from '../core/grid-delay.js';

export interface WorkerRuntimeOptions {
  /** worker id published with every score */
  readonly id: string;
  readonly backend: WorkerBackend;
  readonly bus: ScoreBus;
  readonly metrics?: MetricsSink;
  /** batch watchdog: a backend call running longer than this marks the worker stuck (default 300 s) */
  readonly batchTimeoutMs?: number;
  /** structured log (default none) */
  readonly log?: Logger;
  /** what `ttsnap collect` values from this worker come from (the worker process knows its backend's files) */
  readonly collectSource?: () => CollectSource;
  /** the preview sink its backend feeds (search --contact-sheets); absent: Advance's `previews` is ignored */
  readonly previews?: WorkerPreviews;
  /**
   * ms grid of the wall clock on which scores are published (gridDelay; default 0: at once). A remote worker's
   * scores wait for the next grid point, so that those of many workers reach the coordinator together.
   */
  readonly scoreGridMs?: number;
  /**
   * the grid a job's scores wait for while that job's work queued here lasts past the grid's next point (default
   * scoreGridMs; workOutlastsHold): the job's work goes on meanwhile, so holding them delays neither it nor the
   * accelerator, and the coordinator gets fewer, larger bursts. Scores published with less of their job queued go
   * on scoreGridMs and take those held with them: the coordinator, which refills a worker as its scores come in,
   * hears in time to refill it before it idles, and a small job's scores do not wait behind another job's work.
   */
  readonly busyScoreGridMs?: number;
}

/** The worker's accelerator is stuck in a call (the batch watchdog fired): it answers no status, takes no work. */
export class WorkerStuckError extends Error {
  constructor(reason: string) {
    super(`worker stuck: ${reason}`);
    this.name = 'WorkerStuckError';
  }
}

interface Cached {
  readonly step: number;
  readonly scores: readonly Score[];
}

/**
 * One worker's engine room, shared by the gRPC server and the in-process client: checks and queues the
 * coordinator's requests, lets the Batcher run them on the backend (continuous batching across prompts and
 * jobs), publishes the scores, keeps the last ones for re-requests, and accounts busy time per job.
 */
export class WorkerRuntime {
  private ident: string;
  private readonly backend: WorkerBackend;
  private readonly bus: ScoreBus;
  private readonly metrics: MetricsSink;
  private readonly log: Logger;
  private readonly queue = new WorkQueue();
  private readonly cache = new Map<CandidateKey, Cached>();
  /** candidates whose last batch failed, with the error, reported on the next Advance for them */
  private readonly failures = new Map<CandidateKey, string>();
  private readonly busyByJob = new Map<string, number>();
  private readonly mutex = new Mutex();
  private readonly abort = new AbortController();
  private readonly batcher: Batcher;
  private live = 0;
  private busy = 0;
  private batches = 0;
  private steps = 0;
  private draining = false;
  private answerAt = 0;
  /** the open Batch streams' keepalive senders, the latest opened last (worker/server.ts) */
  private readonly keepalives = new Set<() => boolean>();
  /** scores waiting for the next point of the score grid (or none: sent at once) */
  private readonly scores: GridBuffer<Score>;
  private readonly scoreGridMs: number;
  private readonly busyScoreGridMs: number;
  /** seconds an advance pass took lately (a moving average; 0 = none yet): how long queued work lasts */
  private passSeconds = 0;
  /** where a held candidate is (the backend's step), for the queue's count of work left */
  private readonly stepOf = (key: CandidateKey): number | undefined => this.backend.stepOf(key);
  /** epoch of the coordinator this worker is registered with (its heartbeat answer says) */
  private lease = '';
  /** the epoch each held candidate was created or imported under */
  private readonly leases = new Map<CandidateKey, string>();

  constructor(opts: WorkerRuntimeOptions) {
    this.ident = opts.id;
    this.backend = opts.backend;
    this.bus = opts.bus;
    this.metrics = opts.metrics ?? NO_METRICS;
    this.log = opts.log ?? NO_LOG;
    this.sourceOf = opts.collectSource ?? null;
    this.previews = opts.previews && this.backend.info.renders ? opts.previews : null;
    this.scoreGridMs = opts.scoreGridMs ?? 0;
    this.scores = new GridBuffer<Score>((out) => this.sendScores(out), this.scoreGridMs);
    this.busyScoreGridMs = Math.max(opts.busyScoreGridMs ?? 0, this.scoreGridMs);
    this.batcher = new Batcher(this.backend, this.queue, this.mutex, this.abort.signal, {
      advanced: (batch, seconds) => this.onAdvanced(batch, seconds),
      scored: (items, rewards, values, seconds) => this.onScored(items, rewards, values, seconds),
      failed: (batch, message) => this.onFailed(batch, message),
      stuck: (batch, message) => this.onStuck(batch, message),
    }, opts.batchTimeoutMs ?? 300_000);
    // Scores published while the bus was away may never have reached the coordinator, which asks again only
    // once it is back itself (maybe before this worker is): publish the last scores of every live candidate again.
    this.unwatchBus = this.bus.onReconnect?.(() => this.republish()) ?? null;
  }

  private readonly unwatchBus: (() => void) | null;
  private readonly previews: WorkerPreviews | null;
  private readonly sourceOf: (() => CollectSource) | null;
  private source: CollectSource | null = null;

  private republish(): void {
    const out: Score[] = [];
    for (const [key, cached] of this.cache) if (this.backend.stepOf(key) === cached.step) out.push(...cached.scores);
    if (out.length > 0) this.bus.publish(out);
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

  /** The backend's info; `previews` says whether this worker publishes previews when asked. */
  get info(): BackendInfo {
    return this.previews ? { ...this.backend.info, previews: true } : this.backend.info;
  }

  /** The coordinator's epoch, from its answer to each heartbeat: candidates created from now on are held under it. */
  setLease(epoch: string): void {
    this.lease = epoch;
  }

  /** Every candidate held, with its step, lease epoch and whether work is queued for it (Worker.Holdings). */
  holdings(): HeldCandidate[] {
    return this.backend.liveKeys().map((key) => ({
      ...parseCandidateKey(key),
      step: this.backend.stepOf(key) ?? -1,
      epoch: this.leases.get(key) ?? '',
      busy: this.queue.has(key),
    }));
  }

  /**
   * Throws once the worker is stuck (it stops heartbeating then: the coordinator counts it lost and recomputes
   * its candidates elsewhere).
   */
  status(): WorkerStatus {
    if (this.stuckReason) throw new WorkerStuckError(this.stuckReason);
    return { info: this.info, live: this.live, queued: this.queue.size, busySeconds: this.busy, batches: this.batches, steps: this.steps };
  }

  /** Creates candidates at step -1. Refused while draining. */
  async take(job: string, specs: readonly TakeSpec[]): Promise<void> {
    if (this.draining) throw new WorkerDrainingError();
    const created = specs.map((s) => candidateSpec(job, s));
    // A candidate taken again starts afresh: nothing of an earlier life here (a failure, a score, queued work
    // from before this worker was counted lost) may answer for it.
    for (const { key } of created) {
      this.failures.delete(key);
      this.cache.delete(key);
      this.queue.delete(key);
      this.leases.set(key, this.lease);
    }
    // Not behind the mutex: creating candidates must not wait for the batch in flight (see WorkerBackend).
    await this.backend.create(created, this.abort.signal);
    this.recount();
  }

  /**
   * Queues: advance each candidate to `toStep` and score it. A candidate already at `toStep` with cached scores
   * has them published again (the coordinator's re-request); a duplicate of a queued item is ignored.
   * Checks every candidate before queueing any. Returns how many were queued. With `previews` (and a backend
   * that renders) each queued candidate's scores are published after a thumbnail of the image they scored.
   */
  advance(job: string, toStep: number, refs: readonly CandidateRef[], rewards: readonly RewardSpec[], previews = false): number {
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
    for (const k of keys) {
      const last = (this.backend.stepCountOf?.(k) ?? this.backend.info.steps) - 1;
      if (toStep > last) throw new CandidateStateError(`step ${toStep} is past the last step ${last}${last === this.backend.info.steps - 1 ? '' : ` of ${k}`}`);
    }
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
      this.previews?.ask(key, previews);
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
    this.previews?.forget(keys);
    for (const k of keys) {
      this.cache.delete(k);
      this.failures.delete(k);
      this.leases.delete(k);
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
    const key = candidateKey(job, ref);
    const step = await this.mutex.run(() => this.backend.importState(key, state));
    this.leases.set(key, this.lease);
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

  /** What this worker's collected values come from (computed once: a fingerprint reads the bundle's files). */
  collectSource(): CollectSource {
    if (!this.sourceOf) throw new CandidateStateError(`this ${this.backend.info.backend} worker was started without its collect source`);
    this.source ??= this.sourceOf();
    return this.source;
  }

  /**
   * `ttsnap collect`: one batch of candidates to the end, scored at every step (worker/collect/chunk.ts), its backend
   * calls taking turns with search work; the decoded Tweedie images at the plan's saved steps go to `onTweedie`
   * (awaited). Refused while draining, and when `fingerprint` is not this worker's source.
   */
  async collect(job: string, specs: readonly TakeSpec[], plan: CollectPlan, fingerprint: string, onTweedie?: (chunk: TweedieChunk) => Promise<void> | void): Promise<Float32Array> {
    if (this.draining) throw new WorkerDrainingError();
    const mine = this.collectSource().fingerprint;
    if (fingerprint !== mine) throw new CollectSourceMismatchError(`worker ${this.id}`, fingerprint, mine);
    const created = specs.map((s) => candidateSpec(job, s));
    try {
      return await collectChunk(this.backend, created, plan, { signal: this.abort.signal, serialise: (call) => this.mutex.run(call), ...(onTweedie ? { onTweedie } : {}) });
    } finally {
      this.recount();
    }
  }

  /** Stops taking new candidates; queued work continues. */
  startDrain(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** A backend call outlived the watchdog: nothing more runs here (the process stops heartbeating, so it counts lost). */
  get isStuck(): boolean {
    return this.stuckReason !== '';
  }

  /** ms timestamp (Date.now) of this worker's last answer on a Batch stream: the coordinator counts it as a heartbeat */
  get lastAnswerAt(): number {
    return this.answerAt;
  }

  /** The worker answered on a Batch stream (worker/server.ts). */
  noteAnswer(): void {
    this.answerAt = Date.now();
  }

  /** Busy seconds since the worker started (what heartbeats and keepalives report). */
  get busySeconds(): number {
    return this.busy;
  }

  /**
   * Adds an open Batch stream's keepalive sender (false once its stream is gone); returns its removal. A
   * keepalive goes to the coordinator that opened the stream, so a coordinator that restarted (its streams gone)
   * gets a RegisterWorker heartbeat again, and with it the epoch.
   */
  addKeepalive(send: () => boolean): () => void {
    this.keepalives.add(send);
    return () => this.keepalives.delete(send);
  }

  /** Sends a keepalive on the latest open Batch stream instead of a heartbeat; false when none is open. */
  keepalive(): boolean {
    for (const send of [...this.keepalives].reverse()) if (send()) return true;
    return false;
  }

  /** Resolves when no work is queued and nothing runs. */
  idle(): Promise<void> {
    return this.batcher.idle();
  }

  get liveCandidates(): number {
    return this.live;
  }

  /** Aborts running work and frees the backend; idempotent. */
  async close(): Promise<void> {
    this.scores.flush(); // nothing scored is left unsent
    this.unwatchBus?.();
    this.draining = true;
    this.abort.abort(new WorkerDrainingError());
    this.wakeIdle();
    // A stuck call holds the mutex for good: close the backend past it, as the process exit will anyway.
    await (this.stuckReason ? this.backend.close() : this.mutex.run(() => this.backend.close()));
  }

  private kick(): void {
    this.batcher.kick();
  }

  private onAdvanced(batch: readonly WorkItem[], seconds: number): void {
    this.charge(batch, seconds);
    this.passSeconds = this.passSeconds === 0 ? seconds : 0.8 * this.passSeconds + 0.2 * seconds;
    this.batches++;
    this.steps += batch.length;
    this.metrics.inc('workerDenoiseSteps', {}, batch.length);
    this.metrics.observe('workerBatchSize', batch.length);
  }

  private onScored(items: readonly WorkItem[], rewards: readonly RewardSpec[], values: readonly number[][], seconds: number): void {
    this.charge(items, seconds);
    const out: Score[] = [];
    items.forEach((it, j) => {
      const busy = this.busyByJob.get(it.job) ?? 0;
      const scores = rewards.map((r, ri) => ({
        job: it.job, prompt: it.prompt, candidate: it.candidate, step: it.toStep, reward: r.name,
        value: values[j]?.[ri] as number, worker: this.id, busy_s: busy,
      }));
      this.cache.set(it.key, { step: it.toStep, scores });
      out.push(...scores);
    });
    for (const r of rewards) this.metrics.inc('workerRewardCalls', { reward: r.name }, items.length);
    const shown = this.previews ? items.map((it) => ({ it, p: this.previews?.take(it.key, it.toStep) })) : [];
    if (shown.some((s) => s.p)) void this.publishPreviews(shown).finally(() => this.publishScores(out));
    else this.publishScores(out);
  }

  private publishScores(out: readonly Score[]): void {
    this.scores.pushAll(out, false, this.workOutlastsHold(out) ? this.busyScoreGridMs : undefined);
  }

  /**
   * Whether scores may wait for the busy grid: each of their jobs has work queued here for at least until that
   * grid's next point and one score grid more (the coordinator's refill), in full batches at the latest passes'
   * pace. Otherwise they go on the score grid, so that the coordinator refills this worker before it runs dry: a
   * batch's worth of queued work (the rule before) lasts one pass, 20 ms at `--step-ms 20`, where the busy grid
   * held scores for up to 200 ms and utilisation fell from 0.953 to 0.895 (bench:scale, 100k).
   */
  private workOutlastsHold(out: readonly Score[]): boolean {
    if (this.busyScoreGridMs <= this.scoreGridMs || this.passSeconds <= 0) return false;
    const holdMs = gridDelay(0, this.busyScoreGridMs) + this.scoreGridMs;
    const steps = Math.ceil(holdMs / (this.passSeconds * 1000)) * this.backend.info.maxBatch;
    return out.every((s, i) => (i > 0 && s.job === out[i - 1]?.job) || this.queue.behindAtLeast(s.job, steps, this.stepOf));
  }

  private sendScores(out: readonly Score[]): void {
    this.bus.publish(out);
    this.metrics.inc('workerScoresPublished', {}, out.length);
  }

  /**
   * The thumbnails first, then (the caller) the scores, on the same connection: the coordinator has a candidate's
   * preview before the score that may finish its prompt. One that fails to encode is logged and left out.
   */
  private async publishPreviews(shown: readonly { it: WorkItem; p: PendingPreview | undefined }[]): Promise<void> {
    for (const { it, p } of shown) {
      if (!p) continue;
      try {
        const png = await previewPng(p.image);
        this.bus.publishPreview?.({ job: it.job, worker: this.id, prompt: it.prompt, candidate: it.candidate, step: it.toStep, png, scores: p.scores });
      } catch (err) {
        this.log.error({ worker: this.id, job: it.job, prompt: it.prompt, candidate: it.candidate }, `preview failed: ${(err as Error).message}`);
      }
    }
  }

  private stuckReason = '';

  private onStuck(batch: readonly WorkItem[], message: string): void {
    this.stuckReason = message;
    this.draining = true;
    this.onFailed(batch, message);
  }

  /**
   * Pushes the failure to the coordinator on the bus; should that be lost, its re-request of these scores is
   * answered with the failure (Advance -> FAILED_PRECONDITION).
   */
  private onFailed(batch: readonly WorkItem[], message: string): void {
    for (const it of batch) this.failures.set(it.key, message);
    // told at once, next to the scores: the coordinator puts the candidates back without waiting for a re-request
    const byJob = new Map<string, WorkItem[]>();
    for (const it of batch) byJob.set(it.job, [...(byJob.get(it.job) ?? []), it]);
    for (const [job, items] of byJob) {
      this.bus.publishFailure({ job, worker: this.id, candidates: items.map((it) => ({ prompt: it.prompt, candidate: it.candidate, step: it.toStep })), error: message });
    }
    this.log.error({ worker: this.id, candidates: batch.length, jobs: [...new Set(batch.map((it) => it.job))] }, `batch failed: ${message}`);
  }

  /** Attributes a batch's seconds to its jobs in proportion to their candidates in it. */
  private charge(batch: readonly WorkItem[], seconds: number): void {
    if (batch.length === 0) return;
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
    this.batcher.wakeIdle();
  }
}

/** The backend's spec of a taken candidate (its sampling settings only where it has them). */
function candidateSpec(job: string, s: TakeSpec): CandidateSpec {
  return { key: candidateKey(job, s), prompt: s.prompt, candidate: s.candidate, seed: s.seed, text: s.text, ...(s.sampling ? { sampling: s.sampling } : {}) };
}
