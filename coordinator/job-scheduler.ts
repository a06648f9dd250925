import type { BatchFailure, Score } from '../core/bus/score-bus.js';
import type { Logger } from '../core/log/logger.js';
import type { MetricsSink } from '../core/metrics/sink.js';
import type { CandidateRef, PromptCandidates, TakePrompt } from '../core/contract/candidates.js';
import { groupRefs } from '../core/contract/candidate-groups.js';
import type { Job } from './job.js';
import { OWN_PASSES, planFill, segmentGroups, type Assignment } from './placement.js';
import type { PromptRun } from './prompt-run.js';
import { byWorker, completeStage, type StageDeps } from './stages.js';
import { CandidateMissingError, WorkerDrainingRefusal, WorkerLostError } from '../core/contract/errors.js';
import { heardFrom, placed, whyNoWorker, type WorkerPool, type WorkerSlot } from './workers.js';
import { ScoreMetrics } from './score-metrics.js';

/** Failed calls in a row after which a worker is quarantined. */
const MAX_FAULTS = 3;

export interface JobSchedulerOptions {
  /** ms before a missing score is asked for again */
  readonly scoreTimeoutMs: number;
  readonly metrics: MetricsSink;
  readonly log: Logger;
  readonly clock: () => number;
  /** called once when a job ends (done, cancelled or failed) */
  readonly onJobEnded: (job: Job) => void;
}

/**
 * Drives running jobs over the worker pool: fills free worker slots (placement.ts), applies scores from the
 * bus to each prompt's stage barrier, prunes through the engine, releases the pruned, and recovers from lost
 * workers. Everything here runs on the event loop; worker calls are awaited off the hot path.
 */
export class JobScheduler {
  readonly jobs: Job[] = [];
  private readonly byId = new Map<string, Job>();
  private kicked = false;
  private readonly stages: StageDeps;
  /** metrics of the scores applied in this turn of the event loop (a message's), reported together */
  private readonly scoreMetrics: ScoreMetrics;

  constructor(
    private readonly pool: WorkerPool,
    private readonly opts: JobSchedulerOptions,
  ) {
    this.stages = { pool, metrics: opts.metrics, clock: opts.clock, jobDone: (job) => this.end(job, 'done') };
    this.scoreMetrics = new ScoreMetrics(opts.metrics);
  }

  add(job: Job): void {
    job.state = 'running';
    job.startedAt = this.opts.clock();
    this.jobs.push(job);
    this.byId.set(job.id, job);
    this.kick();
  }

  /** Schedules one fill pass on the next turn of the event loop (passes are coalesced). */
  kick(): void {
    if (this.kicked) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      this.fill();
    });
  }

  onScore(score: Score): void {
    const job = this.byId.get(score.job);
    const run = job?.byPrompt.get(score.prompt);
    if (!job || !run) return;
    const now = this.opts.clock();
    // Busy time only from the worker the candidate is in flight on (not from strangers or late duplicates).
    // set only when it grew: a message's scores mostly carry the same figure, and each set boxed a new number
    if (run.inflightOn(score.candidate) === score.worker) {
      const known = job.busy.get(score.worker);
      const busy = Math.max(known ?? 0, score.busy_s);
      if (busy !== known) job.busy.set(score.worker, busy);
    }
    const done = run.accept(score, now);
    if (!done) return;
    job.lastScoreAt = now;
    this.scoreMetrics.add(done.latencyMs / 1000, done.denoise * run.cost.denoise, job.spec.rewards.length * job.spec.cost.verify);
    job.inflight--;
    const slot = this.pool.get(done.worker);
    if (slot) {
      placed(slot, job.id, -1);
      slot.faults = 0;
      slot.lastScoreAt = now;
      heardFrom(slot, now);
      // scores may come out of order: the highest is the worker's latest figure
      if (score.busy_s > slot.busySeconds) slot.busySeconds = score.busy_s;
    }
    if (run.stageComplete) completeStage(job, run, this.stages);
    this.kick();
  }

  /**
   * A worker pushed a failed batch: its candidates still in flight there for that step go back at once, as if
   * their call had failed (see dispatchFailed), instead of waiting for the score timeout's re-request.
   */
  onFailure(f: BatchFailure): void {
    const job = this.byId.get(f.job);
    const slot = this.pool.get(f.worker);
    if (!job || !slot) return;
    const byRun = new Map<PromptRun, number[]>();
    for (const c of f.candidates) {
      const run = job.byPrompt.get(c.prompt);
      if (!run || run.request.step !== c.step || run.inflightOn(c.candidate) !== slot.id) continue;
      byRun.set(run, [...(byRun.get(run) ?? []), c.candidate]);
    }
    const failed = [...byRun].map(([run, candidates]): Assignment => ({ job, run, kind: 'home', source: null, candidates }));
    if (failed.length > 0) this.dispatchFailed(slot, failed, new Error(`worker ${slot.id}: ${f.error}`));
  }

  private fill(): void {
    if (this.jobs.length === 0) return;
    const now = this.opts.clock();
    // a worker takes only jobs of its pool (its backend)
    const byPool = new Map<string, Job[]>();
    for (const job of this.jobs) {
      const list = byPool.get(job.pool);
      if (list) list.push(job);
      else byPool.set(job.pool, [job]);
    }
    for (const [pool, jobs] of byPool) {
      const only = jobs.length === 1 ? (jobs[0] as Job) : null;
      const backlog = only?.state === 'running' ? only.unadmittedCandidates : 0;
      const solo = backlog > 0 && backlog > this.pool.soloCapacity(pool);
      if (this.pool.setSolo(pool, solo)) {
        const why = !only ? `${jobs.length} jobs share it` : solo ? `job ${only.id} has it alone, with ${backlog} candidates still to admit` : `job ${only.id}'s backlog fits its queues`;
        const batches = this.pool.depth(pool);
        this.opts.log.info({ pool, batches }, `workers of pool ${pool} queue ${batches} batch${batches === 1 ? '' : 'es'}: ${why}`);
      }
    }
    const open = this.pool.open(now);
    for (const slot of open) {
      const jobs = byPool.get(slot.pool);
      if (jobs) this.place(slot, planFill(slot, slot.limit - slot.outstanding, jobs, this.pool, now), now);
    }
    this.fillShares(byPool, new Set(open), now);
  }

  private place(slot: WorkerSlot, assignments: readonly Assignment[], now: number): void {
    for (const group of segmentGroups(assignments)) {
      for (const a of group) placed(slot, a.job.id, a.candidates.length);
      this.dispatch(slot, group, now);
    }
  }

  /**
   * Where jobs share a pool, each has a share of every worker's places (its limit over the running jobs), and a job
   * below half its share on a worker that is full gets places there up to it, its own work only (candidates the
   * worker holds, or new ones; nothing moved onto a full worker). A job submitted while another had the pool to
   * itself (with deep queues, see WorkerPool.setSolo) or behind another's full queues thus gets its part of each
   * worker at once, where the worker gives it its part of each batch, instead of waiting for those queues to drain
   * to their refill point; a worker's queue grows past its limit by what the shares allow, no more. With more jobs
   * than a worker has places, shares are empty and places go as they free up. A full worker that has not scored
   * within the score timeout gets no share: it may be full because its scores are lost (a worker cut off from the
   * bus still answers its calls), and every job would leave a share stuck there.
   */
  private fillShares(byPool: ReadonlyMap<string, readonly Job[]>, open: ReadonlySet<WorkerSlot>, now: number): void {
    for (const [pool, jobs] of byPool) {
      const running = jobs.filter((j) => j.state === 'running');
      if (running.length < 2) continue;
      for (const slot of this.pool.taking(pool, now)) {
        const share = Math.floor(slot.limit / running.length);
        if (open.has(slot) || share < 1 || now - slot.lastScoreAt > this.opts.scoreTimeoutMs) continue;
        for (const job of running) {
          const free = share - (slot.byJob.get(job.id) ?? 0);
          if (free * 2 >= share) this.place(slot, planFill(slot, free, [job], this.pool, now, OWN_PASSES), now);
        }
      }
    }
  }

  /**
   * Tells a running job's watchers (a waiting event, and ListJobs) and the log when it starts waiting for a
   * worker, why, and when it goes on (whyNoWorker). Called by the periodic sweep, not by each fill pass: a wait
   * shorter than a sweep is no news, and a quarantine that ends meanwhile is seen.
   */
  reportWaits(now: number): void {
    const reasons = new Map<string, string>();
    for (const job of this.jobs) {
      if (job.state !== 'running') continue;
      const key = `${job.spec.setsSampling ? 's' : '-'}${job.pool}`;
      let reason = reasons.get(key);
      if (reason === undefined) reasons.set(key, (reason = whyNoWorker(this.pool.all(), job.pool, job.spec.setsSampling, now)));
      if (!job.wait(reason, now)) continue;
      if (reason) this.opts.log.warn({ job: job.id, pool: job.pool }, `job waits: ${reason}`);
      else this.opts.log.info({ job: job.id, pool: job.pool }, 'job continues: a worker of its pool takes its candidates');
    }
  }

  /** Sends a group of assignments (segmentGroups: one job, kind and step) as one call of each kind. */
  private dispatch(slot: WorkerSlot, group: readonly Assignment[], now: number): void {
    for (const a of group) {
      for (const i of a.candidates) a.run.dispatch(i, slot.id, a.kind === 'new' ? -1 : a.run.stepOf(i), now);
    }
    // not an async function: its frame and promises would live until the worker acknowledges (up to a second),
    // long enough to be promoted, for every group of every fill
    this.send(slot, group).then(
      () => heardFrom(slot, this.opts.clock()),
      (err: unknown) => this.dispatchFailed(slot, group, err),
    );
  }

  /**
   * The worker calls of a group. Its candidates' lists are built here, not in dispatch: what dispatch holds
   * lives until the worker has run the segment (up to a second or more), long enough to be promoted.
   */
  private send(slot: WorkerSlot, group: readonly Assignment[]): Promise<unknown> {
    const { job, run, kind } = group[0] as Assignment;
    // an assignment is one prompt's: its candidate list goes as it is (the client sends it within the turn)
    const groups: PromptCandidates[] = group.map((a) => ({ prompt: a.run.prompt, candidates: a.candidates }));
    const advance = (): Promise<void> => slot.client.advance(job.id, run.request.step, groups, run.rewards, job.spec.previews);
    if (kind === 'new') {
      // Both in this turn: the client sends them in one call, and the worker applies them in order.
      let n = 0;
      const prompts: TakePrompt[] = group.map((a) => {
        n += a.candidates.length;
        const sampling = job.spec.promptSampling[a.run.position] ?? null;
        return { prompt: a.run.prompt, text: a.run.text, sampling, candidates: a.candidates, seeds: a.candidates.map((i) => a.run.seedOf(i)) };
      });
      this.opts.metrics.inc('candidatesExplored', {}, n);
      return Promise.all([slot.client.take(job.id, prompts), advance()]);
    }
    if (kind === 'move') return this.move(job, run, (group[0] as Assignment).source as string, slot, groupRefs(groups)).then(advance);
    return advance();
  }

  /** Moves candidates' latent state from `source` to `dest` (export + release there, import here). */
  private async move(job: Job, run: PromptRun, source: string, dest: WorkerSlot, refs: readonly CandidateRef[]): Promise<void> {
    const src = this.pool.get(source);
    if (!src) throw new WorkerLostError(source, 'gone before its candidates moved');
    await Promise.all(
      refs.map(async (ref) => {
        const { state } = await src.client.exportLatent(job.id, ref, true);
        await dest.client.importLatent(job.id, ref, state);
        this.opts.metrics.inc('latentMoves');
        this.opts.metrics.inc('latentBytesMoved', {}, state.byteLength);
        job.moveCandidate({ prompt: run.prompt, candidate: ref.candidate, from_worker: source, to_worker: dest.id, bytes: state.byteLength }, this.opts.clock());
      }),
    );
  }

  private dispatchFailed(slot: WorkerSlot, group: readonly Assignment[], err: unknown): void {
    if (err instanceof WorkerDrainingRefusal) {
      const s = this.pool.get(err.worker);
      if (s) s.draining = true;
    } else if (err instanceof WorkerLostError && err.worker === slot.id) {
      this.loseWorker(slot.id, err.message); // resets these candidates with everything else it held
      return;
    }
    // The candidates' state is not usable on `slot`: put them back, recomputed from seed.
    let back = 0;
    for (const a of group) {
      for (const i of a.candidates) if (a.run.inflightOn(i) === slot.id) {
        a.run.undispatch(i, true);
        placed(slot, a.job.id, -1);
        a.job.inflight--;
        back++;
      }
    }
    // None was still in flight there: they were put back already (the worker was quarantined meanwhile, or the job
    // ended). Such a call's failure is no news of the worker: counted again, each call still in flight on a worker
    // whose backend broke made one more quarantine, doubling it each time (5 s grew to 160 s).
    if (back === 0 && !(err instanceof WorkerLostError)) return this.kick();
    if (err instanceof WorkerDrainingRefusal) this.kick();
    else if (err instanceof WorkerLostError) this.loseWorker(err.worker, err.message);
    else if (!(err instanceof CandidateMissingError) && !this.poisoned(slot, group, err)) this.workerFault(slot, err);
    this.kick();
  }

  /**
   * A candidate whose calls failed MAX_FAULTS times, on MAX_FAULTS different workers (or on every worker there
   * is, when there are fewer), breaks backends by itself: its job fails with the error rather than quarantining
   * every worker in turn. Distinct workers count, not calls alone: one broken worker that gets the same
   * candidates back says nothing about them. True when that ended the job.
   */
  private poisoned(slot: WorkerSlot, group: readonly Assignment[], err: unknown): boolean {
    const spread = Math.min(MAX_FAULTS, Math.max(1, this.pool.size));
    const faults = group.flatMap((a) => a.candidates.map((i) => a.run.fault(i, slot.id)));
    if (!faults.some((f) => f.calls >= MAX_FAULTS && f.workers >= spread)) return false;
    this.stop((group[0] as Assignment).job, 'failed', err instanceof Error ? err.message : String(err));
    return true;
  }

  /**
   * A worker call failed on the merits (its backend threw, a candidate's state is not what it should be): the
   * candidates were put back, to be recomputed elsewhere; one broken worker never fails a job. After
   * MAX_FAULTS failures in a row the worker is quarantined: everything it held continues elsewhere, and it is
   * kept out for a while, however often it registers again.
   */
  private workerFault(slot: WorkerSlot, err: unknown): void {
    slot.faults++;
    this.opts.metrics.inc('workerFaults', { worker: slot.id });
    if (slot.faults < MAX_FAULTS || !this.pool.get(slot.id)) return;
    const ms = this.pool.quarantine(slot.id, this.opts.clock());
    this.evacuate(slot.id, `quarantined for ${ms / 1000} s after ${slot.faults} failed calls in a row, the last: ${err instanceof Error ? err.message : String(err)}`);
  }

  /** A worker is gone: its candidates continue elsewhere, recomputed from seed. */
  loseWorker(id: string, reason: string): void {
    if (!this.pool.remove(id)) return;
    this.evacuate(id, reason);
  }

  /** Everything worker `id` held or ran continues elsewhere, recomputed from seed (the worker lost or quarantined). */
  private evacuate(id: string, reason: string): void {
    const now = this.opts.clock();
    for (const job of this.jobs) {
      let inflight = 0;
      let affected = 0;
      let unscored = 0;
      for (const run of job.active) {
        const r = run.loseWorker(id);
        inflight += r.inflight;
        affected += Math.max(r.held, r.inflight);
        unscored += r.unscored;
      }
      job.inflight -= inflight;
      // A drained worker that leaves empty-handed is a departure, not a loss.
      if (affected > 0) {
        job.loseWorker({ worker: id, candidates: affected, unscored_steps: unscored }, now);
        this.opts.metrics.inc('unscoredSteps', {}, unscored);
      }
    }
    // A quarantined worker stays in the pool: nothing it ran counts against its places any more (the answers to
    // calls still in flight there change nothing, see dispatchFailed), or it would never be refilled after its
    // quarantine.
    const slot = this.pool.get(id);
    if (slot) {
      slot.outstanding = 0;
      slot.byJob.clear();
    }
    this.opts.log.warn({ worker: id, reason }, 'worker lost; its candidates continue elsewhere');
    this.kick();
  }

  /**
   * Asks again for scores missing longer than `olderThanMs` (default the score timeout; 0 after the bus came back
   * from an outage, when any of them may have been lost). Same worker, same step: it republishes or resumes.
   */
  rerequest(now: number, olderThanMs = this.opts.scoreTimeoutMs): void {
    const before = olderThanMs === 0 ? Number.POSITIVE_INFINITY : now - olderThanMs;
    for (const job of this.jobs) {
      for (const run of job.active) {
        for (const [w, candidates] of byWorker(run.takeStale(before, now), (i) => run.inflightOn(i))) {
          const slot = this.pool.get(w);
          if (slot) void slot.client.advance(job.id, run.request.step, [{ prompt: run.prompt, candidates }], run.rewards, job.spec.previews).catch((err: unknown) => this.dispatchFailed(slot, [{ job, run, kind: 'home', source: null, candidates }], err));
        }
      }
    }
  }

  /** Ends a job whose prompts are all finished (a resumed job whose last prompt finished before the restart). */
  complete(job: Job): void {
    this.end(job, 'done');
  }

  cancel(job: Job): void {
    this.stop(job, 'cancelled');
  }

  /** Cancels the running jobs past their deadline (SubmitJob.deadline_s), saying so in their error. */
  expire(now: number): void {
    for (const job of [...this.jobs]) {
      if (job.spec.deadlineMs > 0 && now >= job.createdAt + job.spec.deadlineMs) {
        this.stop(job, 'cancelled', `deadline: still running ${job.spec.deadlineMs / 1000} s after submission (deadline_s)`);
      }
    }
  }

  /** Ends a job before its prompts finish: forgets its segments in flight and releases its candidates everywhere. */
  private stop(job: Job, state: 'cancelled' | 'failed', error = ''): void {
    if (job.ended) return;
    for (const run of job.active) {
      for (const worker of run.dropInflight()) {
        const slot = this.pool.get(worker);
        if (slot) placed(slot, job.id, -1);
      }
    }
    job.inflight = 0;
    for (const slot of this.pool.all()) void slot.client.release(job.id).catch(() => undefined);
    this.end(job, state, error);
  }

  private end(job: Job, state: 'done' | 'cancelled' | 'failed', error = ''): void {
    job.end(state, this.opts.clock(), error);
    const i = this.jobs.indexOf(job);
    if (i >= 0) this.jobs.splice(i, 1);
    this.byId.delete(job.id);
    this.opts.onJobEnded(job);
    this.kick();
  }

  /** Candidate segments waiting for a worker (queue depth gauge). */
  pendingCount(): number {
    let n = 0;
    for (const job of this.jobs) for (const run of job.active) for (const set of run.pending.values()) n += set.size;
    return n;
  }
}
