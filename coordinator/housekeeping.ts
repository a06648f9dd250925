import type { Logger } from '../core/log/logger.js';
import type { MetricsSink } from '../core/metrics/sink.js';

/** Sweep lateness that is ordinary scheduling noise on a loaded machine, not a pause. */
const PAUSE_TOLERANCE_MS = 250;
/** Status polls of a worker that answers batches and sends scores: for the busy-ratio gauge only, so seldom. */
const ANSWERING_POLL_FACTOR = 10;
import { JOB_STATES, type Job } from './job.js';
import type { JobScheduler } from './job-scheduler.js';
import { worstJobs } from './job-gauges.js';
import type { WorkerPool } from './workers.js';

export interface HousekeepingOptions {
  readonly workerTimeoutMs: number;
  /** ms between sweeps (a sweep later than this by much means the coordinator itself was paused) */
  readonly sweepMs: number;
  readonly log: Logger;
  /**
   * ms between status polls of a worker that has not answered meanwhile (liveness, busy ratio); one that answers
   * batches and sends scores is polled ANSWERING_POLL_FACTOR times less often (busy ratio only): a poll of
   * every worker every second was a fixed cost per worker, whatever it did
   */
  readonly pollMs: number;
  /** ended jobs count towards the budget gauge this long after they end */
  readonly recentMs: number;
  readonly clock: () => number;
}

/**
 * The coordinator's periodic pass: asks again for overdue scores, drops workers that stopped heartbeating or
 * answering, and refreshes the gauges (queue depth, jobs and workers by state, busy ratio per worker, the
 * worst job's budget ratio and idle time).
 */
export class Housekeeping {
  private lastPoll = 0;
  private lastSweep = 0;
  /** when the last pause of this process ended (see sweep) */
  private pauseEndedAt = 0;

  constructor(
    private readonly pool: WorkerPool,
    private readonly scheduler: JobScheduler,
    private readonly jobs: () => Iterable<Job>,
    private readonly metrics: MetricsSink,
    private readonly opts: HousekeepingOptions,
  ) {}

  sweep(): void {
    const now = this.opts.clock();
    this.creditPause(now);
    this.scheduler.expire(now);
    this.scheduler.rerequest(now);
    for (const slot of this.pool.all()) {
      if (now - slot.lastSeen > this.opts.workerTimeoutMs) this.scheduler.loseWorker(slot.id, `no heartbeat for ${this.opts.workerTimeoutMs} ms`);
    }
    this.metrics.set('queueDepth', this.scheduler.pendingCount());
    const counts = new Map(JOB_STATES.map((s) => [s, 0]));
    for (const j of this.jobs()) counts.set(j.state, (counts.get(j.state) ?? 0) + 1);
    for (const [state, n] of counts) this.metrics.set('jobs', n, { state });
    const slots = this.pool.all();
    this.metrics.set('workersUp', slots.filter((s) => !s.draining).length, { state: 'ready' });
    this.metrics.set('workersUp', slots.filter((s) => s.draining).length, { state: 'draining' });
    if (now - this.lastPoll >= this.opts.pollMs) {
      this.lastPoll = now;
      const { pollMs } = this.opts;
      for (const slot of slots) {
        if (now - slot.answeredAt >= pollMs || now - slot.busyTicks >= pollMs * ANSWERING_POLL_FACTOR) this.poll(slot.id, now);
      }
      // once per poll, not per sweep: the budget ratio merges each job's prompt ledgers
      const worst = worstJobs(this.jobs(), now, this.opts.recentMs);
      this.metrics.set('jobBudgetRatioMax', worst.budgetRatio);
      this.metrics.set('jobIdleSecondsMax', worst.idleSeconds);
    }
  }

  /**
   * A sweep that comes late by more than a tolerance means this process was paused (SIGSTOP, a long GC, a
   * blocked event loop): no heartbeat could be read meanwhile, so the pause does not count against the workers'
   * silence. Without this, a pause longer than the worker timeout would read as every worker lost at once.
   */
  private creditPause(now: number): void {
    const lag = this.lastSweep > 0 ? now - this.lastSweep - this.opts.sweepMs : 0;
    this.lastSweep = now;
    if (lag <= PAUSE_TOLERANCE_MS) return;
    for (const slot of this.pool.all()) slot.lastSeen += lag;
    this.pauseEndedAt = now;
    this.opts.log.warn({ pausedMs: Math.round(lag) }, 'the coordinator was paused; workers get that time back before counting as lost');
  }

  /** True when this process was (or still is) paused since `since`: a call that failed meanwhile says nothing of its worker. */
  private pausedSince(since: number, now: number): boolean {
    return this.pauseEndedAt >= since || now - this.lastSweep > this.opts.sweepMs + PAUSE_TOLERANCE_MS;
  }

  /** Busy-ratio gauge from the worker's own busy seconds; a worker that cannot answer is lost (unless this process was paused meanwhile). */
  private poll(id: string, now: number): void {
    const slot = this.pool.get(id);
    if (!slot) return;
    slot.client.status().then(
      (st) => {
        if (slot.busyTicks > 0) this.metrics.set('workerBusyRatio', Math.min(1, (st.busySeconds - slot.busySamples) / ((now - slot.busyTicks) / 1000)), { worker: id });
        slot.busySamples = st.busySeconds;
        slot.busyTicks = now;
      },
      (err: unknown) => this.pausedSince(now, this.opts.clock()) || this.scheduler.loseWorker(id, err instanceof Error ? err.message : String(err)),
    );
  }
}
