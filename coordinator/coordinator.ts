import { randomUUID } from 'node:crypto';
import type { ResultStore } from '../core/bus/result-store.js';
import type { ScoreBus } from '../core/bus/score-bus.js';
import { NO_LOG, type Logger } from '../core/log/logger.js';
import { NO_METRICS, type MetricsSink } from '../core/metrics/sink.js';
import type { JobEvent } from '../core/generated/ttsnap/v1/JobEvent.js';
import type { JobResult } from '../core/generated/ttsnap/v1/JobResult.js';
import type { JobSummary } from '../core/generated/ttsnap/v1/JobSummary.js';
import type { SubmitJobRequest } from '../core/generated/ttsnap/v1/SubmitJobRequest.js';
import type { SubmitJobResponse } from '../core/generated/ttsnap/v1/SubmitJobResponse.js';
import type { BackendInfo } from '../core/contract/backend-info.js';
import type { WorkerCollectSource } from '../core/contract/collect.js';
import { promptGroups } from '../core/contract/candidate-groups.js';
import type { CollectRequest__Output } from '../core/generated/ttsnap/v1/CollectRequest.js';
import { compileCollectRequest } from './collect/request.js';
import { runCollection } from './collect/run.js';
import { ValidationError } from '../core/errors.js';
import { CoordinatorUnavailableError, JobNotFoundError, JobRunningError } from './errors.js';
import { Housekeeping } from './housekeeping.js';
import { sortHoldings } from './holdings.js';
import { JOURNAL_SCHEMA, journaledPool, specRecords, type JobJournal, type JournalRecord } from './journal/records.js';
import { StoredJobs } from './stored-jobs.js';
import { PendingResumes } from './journal/resume.js';
import type { JournalStore } from './journal/store.js';
import { Job } from './job.js';
import { compileJobSpec } from './job-spec.js';
import { grantedBudget } from './job-gauges.js';
import { fitPage, jobResult, pageLimit, provenanceOf, resultPage } from './result.js';
import { ttsnapVersion } from '../core/version.js';
import type { CandidatePreview } from '../core/generated/ttsnap/v1/CandidatePreview.js';
import { checkPreviewWorkers, ENDED_JOB_PREVIEWS_MS, PromptPreviews } from './prompt-previews.js';
import type { PromptResult } from '../core/generated/ttsnap/v1/PromptResult.js';
import { JobScheduler } from './job-scheduler.js';
import type { WorkerClient } from '../core/contract/worker-client.js';
import { heardFrom, WorkerPool, type BackendPool, type WorkerSlot } from './workers.js';

/** Loose options; compileCoordinatorOptions fills the defaults. */
export interface CoordinatorOptions {
  /** ms before a missing score is asked for again (default 10000) */
  readonly scoreTimeoutMs?: number;
  /** ms without a heartbeat or a status answer after which a remote worker counts as lost (default 3000) */
  readonly workerTimeoutMs?: number;
  /** ms between housekeeping passes: re-requests, liveness, gauges (default 250) */
  readonly sweepMs?: number;
  /**
   * candidates in flight per worker, as a multiple of its max batch (default 3: bench:cluster packs 97% full
   * batches at 3, 93% at 2; `ttsnap coordinator` REMOTE_QUEUE_FACTOR)
   */
  readonly queueFactor?: number;
  /**
   * candidates in flight per worker while one job alone has its pool, with more candidates waiting than these
   * queues hold (WorkerPool.setSolo; default queueFactor = never deeper; `ttsnap coordinator` twice its queue factor)
   */
  readonly soloQueueFactor?: number;
  /**
   * bytes the ended jobs kept in memory for GetResult may hold, estimated (default 256 MiB); past it the oldest
   * are dropped (then only in the result store). A budget in bytes, not jobs: one job of 10,000 prompts holds
   * as much as a thousand small ones.
   */
  readonly keepBytes?: number;
  /** durable copy of finished results (a JetStream object store in the coordinator command); none by default */
  readonly results?: ResultStore | null;
  /** job journal (JetStream in the coordinator command): running jobs survive a coordinator restart; none by default */
  readonly journal?: JournalStore | null;
  readonly clock?: () => number;
  /** structured log of job and worker events (default none) */
  readonly log?: Logger;
}

type Compiled = Required<CoordinatorOptions>;

/** Heartbeats never come more often than this, ms. */
const MIN_HEARTBEAT_MS = 500;
/** The shortest worker timeout: three heartbeats at the shortest interval, so that one late heartbeat is not a loss. */
export const MIN_WORKER_TIMEOUT_MS = 3 * MIN_HEARTBEAT_MS;
/**
 * `ttsnap coordinator`'s queue factor: remote workers' scores reach it up to a score grid (50 ms) late, and the
 * refill then travels the network, so a worker needs a batch more queued to stay busy meanwhile. bench:scale
 * (100k candidates, 64 workers, 50 ms steps): utilisation 0.981, 0.982, 0.983, 0.98 at 4 against 0.938 to 0.942
 * at 3, same coordinator CPU; fair share unchanged (small job behind a huge one: ratio 2.24 against 2.2).
 */
export const REMOTE_QUEUE_FACTOR = 4;
/** ms after the bus came back: scores asked for then and still missing are asked for again (see the constructor) */
const REREQUEST_AGAIN_MS = 2000;

/** How long an ended job's done event waits for its result to be stored; past it, the job reports the store failed. */
const STORE_TIMEOUT_MS = 60_000;


export function compileCoordinatorOptions(o: CoordinatorOptions = {}): Compiled {
  return {
    scoreTimeoutMs: o.scoreTimeoutMs ?? 10_000,
    workerTimeoutMs: o.workerTimeoutMs ?? 3_000,
    sweepMs: o.sweepMs ?? 250,
    queueFactor: o.queueFactor ?? 3,
    soloQueueFactor: o.soloQueueFactor ?? o.queueFactor ?? 3,
    keepBytes: o.keepBytes ?? 256 * 1024 * 1024,
    results: o.results ?? null,
    journal: o.journal ?? null,
    clock: o.clock ?? (() => performance.timeOrigin + performance.now()),
    log: o.log ?? NO_LOG,
  };
}

/**
 * The coordinator's domain API, used by the gRPC service and by the embedded mode alike. No transport here:
 * workers arrive as WorkerClients, scores through a ScoreBus.
 */
export class Coordinator {
  private readonly opts: Compiled;
  private readonly pool: WorkerPool;
  private readonly scheduler: JobScheduler;
  private readonly jobs = new Map<string, Job>();
  private readonly unsubscribe: () => void;
  private readonly timer: NodeJS.Timeout;
  private seq = 0;
  /** this coordinator's life: written with each job it starts, and workers hold candidates under it (a restarted coordinator has another) */
  readonly epoch = randomUUID();
  private readonly byRequest = new Map<string, string>();
  /** search --contact-sheets: the previews of prompts not yet fetched */
  private readonly previews: PromptPreviews;
  private draining = false;
  private readonly puts = new Set<Promise<unknown>>();
  private readonly resumes: PendingResumes | null;
  /** the jobs known only from the result store (none without a store) */
  private readonly stored: StoredJobs | null;
  /** resumed jobs rebuilt and not yet scheduled: no worker of their pool has registered since (rebuildResumed) */
  private readonly awaitingPool = new Set<Job>();
  private closed = false;

  constructor(
    private readonly bus: ScoreBus,
    private readonly metrics: MetricsSink = NO_METRICS,
    options: CoordinatorOptions = {},
  ) {
    this.opts = compileCoordinatorOptions(options);
    this.previews = new PromptPreviews(metrics);
    this.pool = new WorkerPool(this.opts.queueFactor, this.opts.soloQueueFactor);
    this.scheduler = new JobScheduler(this.pool, {
      scoreTimeoutMs: this.opts.scoreTimeoutMs,
      metrics,
      log: this.opts.log,
      clock: this.opts.clock,
      onJobEnded: (job) => this.jobEnded(job),
    });
    const unsubscribe = bus.subscribe((s) => this.scheduler.onScore(s));
    const unfailure = bus.onFailure((f) => this.scheduler.onFailure(f));
    const unpreview = bus.onPreview?.((p) => this.previews.add(p, (id) => {
      const job = this.jobs.get(id);
      return job !== undefined && job.spec.previews && !job.ended;
    }));
    // Scores published while the bus was away may be lost: ask for every missing one now, not after the timeout.
    // And once more a little later for those still missing: a worker whose own connection comes back after this
    // one republishes into a bus this coordinator may not be subscribed to yet, and an answer to the first
    // re-request can race the subscription being restored on the server. Asking twice is harmless (a worker
    // ignores work it has queued and republishes a score it has).
    let again: NodeJS.Timeout | null = null;
    const unwatch = bus.onReconnect?.(() => {
      this.metrics.inc('natsErrors', { op: 'reconnect' });
      this.scheduler.rerequest(this.opts.clock(), 0);
      if (again) clearTimeout(again);
      again = setTimeout(() => this.closed || this.scheduler.rerequest(this.opts.clock(), REREQUEST_AGAIN_MS / 2), REREQUEST_AGAIN_MS).unref();
    });
    this.unsubscribe = () => {
      unsubscribe();
      unfailure();
      unpreview?.();
      unwatch?.();
      if (again) clearTimeout(again);
    };
    const housekeeping = new Housekeeping(this.pool, this.scheduler, () => this.jobs.values(), metrics, {
      recentMs: 15 * 60_000,
      workerTimeoutMs: this.opts.workerTimeoutMs,
      sweepMs: this.opts.sweepMs,
      log: this.opts.log,
      gaugeMs: 1000,
      clock: this.opts.clock,
    });
    this.timer = setInterval(() => housekeeping.sweep(), this.opts.sweepMs);
    this.timer.unref();
    this.resumes = this.opts.journal ? new PendingResumes(this.opts.journal) : null;
    this.stored = this.opts.results ? new StoredJobs(this.opts.results, this.metrics, this.opts.log) : null;
  }

  /**
   * Reads the journal and takes over the jobs it shows running: rebuilt at once from the backend info their spec
   * record carries (older journals: once a worker of their pool has registered, see PendingResumes), scheduled
   * once a worker of their pool is back. Returns their ids, and the jobs refused for another journal schema.
   */
  async resume(): Promise<{ running: string[]; refused: string[] }> {
    if (!this.resumes) return { running: [], refused: [] };
    const found = await this.resumes.load();
    const running: string[] = [];
    for (const id of found.running) if (!(await this.endedInStore(id))) running.push(id);
    this.rebuildResumed();
    return { running, refused: found.refused };
  }

  /**
   * A job whose result is stored has ended, even when its journal's end record was not written before the last
   * coordinator stopped (the journal may lag behind under load): it is not run again, and its journal is ended.
   */
  private async endedInStore(id: string): Promise<boolean> {
    const stored = await this.opts.results?.get(id, 0, 0).catch(() => null);
    if (!stored || !this.resumes?.drop(id)) return false;
    const { state, error } = stored.summary as { state?: string; error?: string };
    this.opts.journal?.append({ v: JOURNAL_SCHEMA, kind: 'end', job: id, state: state ?? 'done', error: error ?? '' });
    return true;
  }

  /**
   * Rebuilds the resumed jobs: at once those whose journal says what backend they were compiled with, the others
   * (older journals) once their pool has a worker (a job journaled before pools: the only pool). A job is
   * scheduled one worker timeout after the first worker of its pool registers; until one does it waits, and says so.
   */
  private rebuildResumed(): void {
    if (!this.resumes) return;
    const serving = this.pool.serving();
    const served = (id: string): boolean => serving.some((p) => p.id === id);
    const poolOf = (j: JobJournal): BackendPool | null => {
      const journaled = journaledPool(j.spec);
      if (journaled) return { id: journaled.id, name: journaled.info.model, info: journaled.info };
      const id = (j.spec.request as SubmitJobRequest).pool;
      return id ? (serving.find((p) => p.id === id) ?? null) : serving.length === 1 ? (serving[0] as BackendPool) : null;
    };
    const now = this.opts.clock();
    for (const j of this.resumes.take((j) => poolOf(j) !== null)) {
      const pool = poolOf(j) as BackendPool;
      let job: Job;
      try {
        const spec = compileJobSpec(j.spec.request as SubmitJobRequest, pool.info);
        job = new Job(j.spec.job, spec, j.spec.createdAt);
        job.provenance = provenanceOf(spec, pool.info, ttsnapVersion());
        job.requestId = j.spec.requestId;
        job.pool = pool.id;
        this.attachSinks(job);
        job.restore(j, now);
      } catch (err) {
        process.emitWarning(`job ${j.spec.job} cannot be resumed: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      this.jobs.set(job.id, job);
      this.resumes.attach(job.id, (listener, afterSeq) => job.watch(listener, afterSeq));
      if (job.promptsDone === job.spec.prompts.length) {
        this.scheduler.add(job);
        this.scheduler.complete(job);
        continue;
      }
      this.awaitingPool.add(job);
      if (!served(job.pool)) job.wait(`resumed from the journal: waits for a worker of pool ${job.pool} to register`, now);
    }
    for (const job of this.awaitingPool) {
      if (!job.ended && !served(job.pool)) continue;
      this.awaitingPool.delete(job);
      if (job.ended) continue;
      job.wait('', now);
      // Scheduled once every worker alive has had the time to register (one worker timeout after the first of
      // its pool did): until then workers say what they hold and the job keeps it instead of recomputing it.
      setTimeout(() => job.ended || this.closed || this.scheduler.add(job), this.opts.workerTimeoutMs).unref();
    }
  }

  /** Where the job's journal records go, and where its result is stored before its done event goes out. */
  private attachSinks(job: Job): void {
    const journal = this.opts.journal;
    job.journal = journal ? (r: JournalRecord) => journal.append(r) : null;
    if (this.opts.results) job.storeResult = (j) => this.storeResult(j);
  }

  /**
   * Stores an ended job's result; resolves '' or, when that failed, the reason, which the done event, GetResult
   * and ListJobs then report (besides the error log line and ttsnap_result_store_errors_total{op="put"}).
   */
  private storeResult(job: Job): Promise<string> {
    const store = this.opts.results as ResultStore;
    const full = jobResult(job, this.opts.clock());
    const { prompts, ...summary } = full;
    const put = store.put(job.id, { summary, prompts: prompts ?? [], listing: jobSummaryOf(job) });
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${STORE_TIMEOUT_MS / 1000} s`)), STORE_TIMEOUT_MS).unref());
    const stored = Promise.race([put, timeout]).then(
      () => '',
      (err: unknown) => {
        const reason = `the result could not be stored (${err instanceof Error ? err.message : String(err)}); it lives in this coordinator's memory only`;
        this.metrics.inc('resultStoreErrors', { op: 'put' });
        this.opts.log.error({ job: job.id, err }, `result store: ${reason}`);
        return reason;
      },
    );
    this.puts.add(stored);
    void stored.finally(() => this.puts.delete(stored));
    return stored;
  }

  /** The backend of the first pool serving (the only one in embedded mode; null before a worker registers). */
  get backend(): BackendInfo | null {
    return this.pool.serving()[0]?.info ?? null;
  }

  /**
   * How often remote workers heartbeat (their RegisterWorker answer tells them): a third of the worker timeout,
   * so that one or two late heartbeats are not a loss, and at least MIN_HEARTBEAT_MS. Busy workers prove they
   * are alive by their batch answers and scores as well (heardFrom): at 64 workers a fixed 500 ms made 128 calls
   * a second whatever the workers did.
   */
  get heartbeatMs(): number {
    return Math.max(MIN_HEARTBEAT_MS, Math.round(this.opts.workerTimeoutMs / 3));
  }

  get workerCount(): number {
    return this.pool.size;
  }

  /** Registers a worker or refreshes its heartbeat (remote, the default); `draining` empties it (its survivors move elsewhere). */
  registerWorker(client: WorkerClient, info: BackendInfo, o: { draining?: boolean; remote?: boolean } = {}): { accepted: boolean; reason: string } {
    const draining = o.draining ?? false;
    // In-process workers cannot vanish on their own: they never time out.
    const slot = this.pool.add(client, info, o.remote === false ? Number.POSITIVE_INFINITY : this.opts.clock());
    if (slot.client !== client) client.close();
    else this.opts.log.info({ worker: slot.id, backend: info.backend, model: info.model, pool: slot.pool }, 'worker registered');
    // The worker's word decides: a worker that re-registers as serving (restarted, recovered) takes work again.
    slot.draining = draining;
    this.rebuildResumed();
    if (slot.client === client) this.reconcile(slot);
    this.scheduler.kick();
    return { accepted: true, reason: '' };
  }

  /**
   * A worker new to this coordinator may hold candidates from before: of jobs this coordinator resumed (left by
   * the one that crashed), of jobs it no longer knows, or copies it counted lost. It takes no work until it has
   * said what it holds: what a resumed job can use stays (no recomputation), the rest is released (holdings.ts),
   * so a recomputed candidate never meets a stale twin. A worker that cannot say drops every resumed job's.
   */
  private reconcile(slot: WorkerSlot): void {
    slot.fenced = true;
    const resumed = this.resumes?.resumed ?? new Set<string>();
    const settle = async (): Promise<void> => {
      const held = await slot.client.holdings().catch(() => null);
      if (!held) {
        await Promise.allSettled([...resumed].map((id) => slot.client.release(id)));
        return;
      }
      if (held.length === 0) return;
      const sorted = sortHoldings(slot, held, { epoch: this.epoch, job: (id) => this.jobs.get(id), resumed, now: this.opts.clock() });
      this.opts.log.info({ worker: slot.id, held: held.length, adopted: sorted.adopted, orphanJobs: sorted.releaseJobs.length }, 'worker holdings: kept what resumed jobs can use, released the rest');
      await Promise.allSettled([
        ...sorted.releaseJobs.map((id) => slot.client.release(id)),
        ...[...sorted.releaseRefs].map(([id, refs]) => slot.client.release(id, promptGroups(refs))),
      ]);
    };
    void settle().finally(() => {
      slot.fenced = false;
      this.scheduler.kick();
    });
  }

  /**
   * Refreshes a known worker's heartbeat and busy seconds (0 = not reported: an older worker); false when the
   * worker is unknown (then register it).
   */
  heartbeat(id: string, draining: boolean, busySeconds = 0): boolean {
    const slot = this.signOfLife(id, busySeconds);
    if (!slot) return false;
    if (draining !== slot.draining) {
      slot.draining = draining;
      this.scheduler.kick();
    }
    return true;
  }

  /**
   * A worker answered on its Batch stream, or sent a keepalive there: a sign of life, as a heartbeat is (it sends
   * none meanwhile), with the busy seconds a keepalive carries (0 = not said).
   */
  answered(id: string, busySeconds = 0): void {
    this.signOfLife(id, busySeconds);
  }

  /** The worker is alive; its busy seconds (0 = not said) as it reported them. Its slot, if it has one. */
  private signOfLife(id: string, busySeconds: number): WorkerSlot | undefined {
    const slot = this.pool.get(id);
    if (!slot) return undefined;
    heardFrom(slot, this.opts.clock());
    // the worker's own figure, not the highest seen: a restarted worker counts from 0 again
    if (busySeconds > 0) slot.busySeconds = busySeconds;
    return slot;
  }

  /** The job a client request id was submitted as, by this coordinator or (journaled) an earlier one. */
  private jobOfRequest(requestId: string): string | undefined {
    return requestId ? this.byRequest.get(requestId) ?? this.resumes?.byRequest.get(requestId) : undefined;
  }

  /**
   * A resubmission (same request id) of a job that ended before this coordinator started, whose result the store
   * keeps: the answer SubmitJob gives it (that job, not a new one: hours of accelerator time are not spent twice
   * because the coordinator restarted in between). Null for anything else, which submit() then handles.
   */
  async endedByRequest(req: SubmitJobRequest): Promise<SubmitJobResponse | null> {
    const known = this.jobOfRequest(req.request_id ?? '');
    if (known === undefined || this.follows(known) || !this.stored) return null;
    const n = await this.stored.candidatesPerPrompt(known);
    if (n === null) return null;
    // its previews died with the coordinator that ran it; the caller asked for them with the job, so it is told yes
    return { job: known, candidates_per_prompt: n, previews: Boolean(req.previews) };
  }

  /** Validates and queues a job; throws ValidationError (bad request) or CoordinatorUnavailableError. */
  submit(req: SubmitJobRequest): Job {
    if (this.draining) throw new CoordinatorUnavailableError('the coordinator is draining and takes no new jobs');
    const requestId = req.request_id ?? '';
    if (requestId.length > 128) throw new ValidationError('request_id', `${requestId.length} characters`, 'at most 128 characters');
    const known = this.jobOfRequest(requestId);
    const existing = known === undefined ? undefined : this.jobs.get(known);
    if (existing) return existing;
    const pool = this.pool.resolve(req.pool ?? '');
    const spec = compileJobSpec(req, pool.info);
    if (spec.previews) checkPreviewWorkers(pool, this.pool.all().filter((s) => s.pool === pool.id));
    const now = this.opts.clock();
    const job = new Job(`j${(++this.seq).toString(36)}-${Math.floor(now).toString(36)}`, spec, now);
    job.provenance = provenanceOf(spec, pool.info, ttsnapVersion());
    job.requestId = requestId;
    job.pool = pool.id;
    this.attachSinks(job);
    // the pool resolved: a resuming coordinator runs the job on the same pool, however many serve by then
    const request: SubmitJobRequest = { ...req, pool: pool.id };
    for (const r of specRecords(job.id, requestId, now, this.epoch, request, pool)) job.journal?.(r);
    if (requestId) this.byRequest.set(requestId, job.id);
    this.jobs.set(job.id, job);
    const granted = grantedBudget(spec);
    this.metrics.inc('budgetAllocated', { kind: 'denoise' }, granted.denoise);
    this.metrics.inc('budgetAllocated', { kind: 'reward' }, granted.reward);
    this.opts.log.info({ job: job.id, pool: pool.id, prompts: spec.prompts.length, candidates: spec.n, budget: granted.denoise + granted.reward }, 'job accepted');
    this.scheduler.add(job);
    this.evictOld();
    return job;
  }

  /** `ttsnap collect --coordinator`: what the workers' values come from (asked of one serving worker). */
  collectSource(): Promise<WorkerCollectSource> {
    const slot = this.pool.all().find((s) => !s.draining && !s.fenced);
    if (!slot) throw new CoordinatorUnavailableError('no worker has registered yet');
    return slot.client.collectSource();
  }

  /** Runs a collection on the workers (coordinator/collect/); each prompt's Tweedie pieces and values go to `out` as they come. */
  async collect(req: CollectRequest__Output, out: Parameters<typeof runCollection>[2], signal: AbortSignal): Promise<void> {
    if (this.draining) throw new CoordinatorUnavailableError('the coordinator is draining and takes no new jobs');
    const job = compileCollectRequest(req, await this.collectSource());
    await runCollection(this.pool, job, out, { signal, log: this.opts.log });
  }

  /** Resolves once every journal record written so far is stored (true), or after timeoutMs (false); true without a journal. */
  journaled(timeoutMs: number): Promise<boolean> {
    return this.opts.journal?.flush(timeoutMs) ?? Promise.resolve(true);
  }

  /**
   * search --contact-sheets: the previews of one prompt of the job (its number in the job, as events give it), once;
   * empty when the job did not ask for them, or they were fetched or dropped already.
   */
  takePromptPreviews(id: string, prompt: number): CandidatePreview[] {
    if (!this.jobs.has(id)) throw new JobNotFoundError(id);
    return this.previews.take(id, prompt);
  }

  /** PNG bytes of previews held (a bound the tests check). */
  get previewBytes(): number {
    return this.previews.bytes;
  }

  job(id: string): Job {
    const job = this.jobs.get(id);
    if (!job) throw new JobNotFoundError(id);
    return job;
  }

  /**
   * Replays the job's events after `afterSeq`, then follows it; a job still being resumed is waited for.
   * `onHandOver`: this coordinator stopped while the job runs, leaving it to the next (see close()).
   */
  watch(id: string, listener: (e: JobEvent) => void, afterSeq = 0, onHandOver?: () => void): () => void {
    if (!this.jobs.has(id) && this.resumes?.has(id)) return this.resumes.watch(id, listener, afterSeq);
    return this.job(id).watch(listener, afterSeq, onHandOver);
  }

  /** Whether watch() follows the job: this coordinator holds it, or is resuming it from the journal. */
  follows(id: string): boolean {
    return this.jobs.has(id) || (this.resumes?.has(id) ?? false);
  }

  /**
   * The done event of a job this coordinator does not hold but whose result the store keeps (it ended before
   * this coordinator started): what a watcher of it gets, built from the stored summary. Not numbered (seq 0):
   * its other events are not kept with the result. NOT_FOUND when the store does not know it either.
   */
  storedDone(id: string): Promise<JobEvent> {
    if (!this.stored) return Promise.reject(new JobNotFoundError(id));
    return this.stored.done(id);
  }

  result(id: string): JobResult {
    return jobResult(this.job(id), this.opts.clock());
  }

  /**
   * One page of the job's result (GetResult): from memory, or from the durable store for jobs this process no
   * longer (or never) held, reading only the stored pages asked for.
   */
  async resultPage(id: string, offset: number, limit: number): Promise<{ result: JobResult; total_prompts: number }> {
    if (this.jobs.has(id) || !this.stored) return resultPage(this.result(id), offset, limit);
    const stored = await this.stored.page(id, offset, pageLimit(limit));
    return { result: { ...(stored.summary as JobResult), prompts: fitPage(stored.prompts as PromptResult[]) }, total_prompts: stored.total };
  }

  /** Resolves when the job has ended (any state) and its done event went out (its result stored, if there is a store). */
  whenEnded(id: string): Promise<Job> {
    const job = this.job(id);
    return job.announced.then(() => job);
  }

  /**
   * Forgets an ended job: the coordinator's copy, its stored result and its journal (a resubmission under its
   * request id then starts a new job). A running job is refused (JobRunningError); an unknown one is NOT_FOUND.
   */
  async deleteJob(id: string): Promise<{ in_memory: boolean; stored: boolean; journal: boolean }> {
    const job = this.jobs.get(id);
    if ((job && !job.ended) || this.resumes?.has(id)) throw new JobRunningError(id);
    await job?.announced;
    const inMemory = this.jobs.delete(id);
    this.previews.drop(id);
    for (const requests of [this.byRequest, this.resumes?.byRequest]) for (const [r, j] of requests ?? []) if (j === id) requests?.delete(r);
    const failed = (op: 'delete', err: unknown): never => {
      this.metrics.inc('resultStoreErrors', { op });
      this.opts.log.error({ job: id, err }, `${op} failed`);
      throw new CoordinatorUnavailableError(`job ${id}: the store cannot be changed now (${err instanceof Error ? err.message : String(err)}); try again`);
    };
    const stored = (await this.opts.results?.delete(id).catch((err: unknown) => failed('delete', err))) ?? false;
    const journal = (await this.opts.journal?.forget(id).catch((err: unknown) => failed('delete', err))) ?? false;
    if (!inMemory && !stored && !journal) throw new JobNotFoundError(id);
    this.opts.log.info({ job: id, inMemory, stored, journal }, 'job deleted');
    return { in_memory: inMemory, stored, journal };
  }

  cancel(id: string): string {
    const job = this.job(id);
    this.scheduler.cancel(job);
    return job.state;
  }

  /** The jobs this coordinator holds, newest first, at most `limit` (default 100, capped at 1000). */
  list(limit = 100): JobSummary[] {
    return [...this.jobs.values()].reverse().slice(0, listLimit(limit)).map(jobSummaryOf);
  }

  /**
   * ListJobs: the jobs this coordinator holds (list()), then, up to `limit`, those whose results the store keeps
   * and it does not hold (ended before it started, or dropped from its memory), newest first. A store that cannot
   * be read leaves them out: the list never fails for it (the error is logged and counted).
   */
  async listJobs(limit = 100): Promise<JobSummary[]> {
    const held = this.list(limit);
    const room = listLimit(limit) - held.length;
    if (room <= 0 || !this.stored) return held;
    return [...held, ...(await this.stored.list(room, new Set(this.jobs.keys())))];
  }

  /** Stops taking jobs and waits (up to timeoutMs) for the running ones to end. Returns true when all ended. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    const running = [...this.jobs.values()].map((j) => j.announced);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const ok = await Promise.race([Promise.all(running).then(() => true as const), timeout]);
    clearTimeout(timer);
    return ok;
  }

  /**
   * Idempotent: stops timers and the bus subscription, closes worker clients, and leaves no job in two states.
   * With a journal, jobs still running are handed over: the journal keeps them running for the next coordinator
   * on the same NATS (it resumes them, and the workers keep their candidates for it), and their watchers are
   * told this coordinator went away, so they reconnect. Without one nothing could resume them: they are
   * cancelled, and watchers are told so. Waits up to `waitMs` for results being stored.
   */
  async close(waitMs = 2000): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.unsubscribe();
    for (const job of this.jobs.values()) {
      if (job.ended) continue;
      if (this.opts.journal) job.handOver();
      else this.scheduler.cancel(job);
    }
    for (const slot of this.pool.all()) this.pool.remove(slot.id);
    // stored results are worth a short wait, never a hang (NATS may be gone)
    await Promise.race([Promise.allSettled([...this.puts]), new Promise((r) => setTimeout(r, waitMs).unref())]);
  }

  private jobEnded(job: Job): void {
    if (job.spec.previews) setTimeout(() => this.previews.drop(job.id), ENDED_JOB_PREVIEWS_MS).unref();
    this.metrics.inc('jobsCompleted', { state: job.state });
    this.opts.log.info({ job: job.id, state: job.state, prompts: job.promptsDone, cost: job.ledger().cost, ...(job.error ? { error: job.error } : {}) }, 'job ended');
    if (job.state === 'done') this.metrics.inc('recomputedSteps', {}, job.movement.recomputed_steps);
    const journal = this.opts.journal;
    void job.announced.then(async () => {
      // Once the result is stored, the journal keeps only the job's spec and end (resubmission still finds it).
      if (this.opts.results && !job.storeError && journal && (await journal.flush(5000))) await journal.compact(job.id).catch(() => {});
    });
    this.evictOld(job);
  }

  /** Drops the oldest ended jobs while those ended hold more than keepBytes; never `newest` (its client may still ask for its result). */
  private evictOld(newest?: Job): void {
    let held = 0;
    for (const job of this.jobs.values()) if (job.ended) held += job.retainedBytes;
    for (const [id, job] of this.jobs) {
      if (held <= this.opts.keepBytes) break;
      if (!job.ended || job === newest) continue;
      held -= job.retainedBytes;
      this.jobs.delete(id);
    }
  }
}

/** ListJobs' limit: 100 when not given, at most 1000. */
function listLimit(limit: number): number {
  return Math.min(limit || 100, 1000);
}

/** A job as ListJobs shows it (and as its stored result lists it once no coordinator holds it). */
function jobSummaryOf(j: Job): JobSummary {
  return {
    job: j.id,
    state: j.state,
    prompts: j.spec.prompts.length,
    prompts_done: j.promptsDone,
    candidates_per_prompt: j.spec.n,
    cost: j.ledger().cost,
    label: j.spec.label,
    pool: j.pool,
    store_error: j.storeError,
    waiting: j.waiting,
  };
}
