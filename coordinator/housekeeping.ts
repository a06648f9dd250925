import type { Logger } from '../core/log/logger.js';
import type { MetricsSink } from '../core/metrics/sink.js';

import { JOB_STATES, type Job } from './job.js';
import type { JobScheduler } from './job-scheduler.js';
import { worstJobs } from './job-gauges.js';
import type { WorkerPool } from './workers.js';

/** Sweep lateness that is ordinary scheduling noise on a loaded machine, not a pause. */
const PAUSE_TOLERANCE_MS = 250;

export interface HousekeepingOptions {
  readonly workerTimeoutMs: number;
  /** ms between sweeps (a sweep later than this by much means the coordinator itself was paused) */
  readonly sweepMs: number;
  readonly log: Logger;
  /**
   * ms between samples of the slower gauges: busy ratio per worker (from the busy seconds its heartbeats and
   * scores report: no call to the worker; a status poll of every worker was a fixed cost per worker-second, 1 ms
   * of coordinator CPU each), the worst job's budget ratio and idle time
   */
  readonly gaugeMs: number;
  /** ended jobs count towards the budget gauge this long after they end */
  readonly recentMs: number;
  readonly clock: () => number;
}

/**
 * The coordinator's periodic pass: asks again for overdue scores, drops workers that stopped heartbeating and
 * answering, says which jobs wait for a worker, and refreshes the gauges (queue depth, jobs and workers by
 * state, busy ratio per worker, the worst job's budget ratio and idle time).
 */
export class Housekeeping {
  private lastGauges = 0;
  private lastSweep = 0;

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
    this.scheduler.reportWaits(now);
    this.metrics.set('queueDepth', this.scheduler.pendingCount());
    const counts = new Map(JOB_STATES.map((s) => [s, 0]));
    // running jobs the sweep just found waiting, and resumed ones no worker of their pool has come back for
    let waiting = 0;
    for (const j of this.jobs()) {
      counts.set(j.state, (counts.get(j.state) ?? 0) + 1);
      if (j.waiting) waiting++; // an ended job waits for nothing (Job.end clears it)
    }
    for (const [state, n] of counts) this.metrics.set('jobs', n, { state });
    this.metrics.set('jobsWaiting', waiting);
    const slots = this.pool.all();
    this.metrics.set('workersUp', slots.filter((s) => !s.draining).length, { state: 'ready' });
    this.metrics.set('workersUp', slots.filter((s) => s.draining).length, { state: 'draining' });
    if (now - this.lastGauges >= this.opts.gaugeMs) {
      this.lastGauges = now;
      for (const slot of slots) {
        if (slot.busySampledAt > 0) this.metrics.set('workerBusyRatio', busyRatio(slot.busySeconds - slot.busySampledSeconds, now - slot.busySampledAt), { worker: slot.id });
        slot.busySampledAt = now;
        slot.busySampledSeconds = slot.busySeconds;
      }
      // not every sweep: the budget ratio asks each job for its spent cost
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
    this.opts.log.warn({ pausedMs: Math.round(lag) }, 'the coordinator was paused; workers get that time back before counting as lost');
  }
}

/** Busy seconds over elapsed ms, within [0, 1] (a worker restarted meanwhile reports fewer seconds: 0). */
export function busyRatio(busySeconds: number, elapsedMs: number): number {
  return elapsedMs > 0 ? Math.min(1, Math.max(0, busySeconds / (elapsedMs / 1000))) : 0;
}
