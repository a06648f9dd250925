import { NatsScoreBus } from '../core/bus/nats.js';
import { NatsResultStore } from '../core/bus/result-store.js';
import { stopServing, type ServingServer } from '../core/grpc/serve.js';
import type { Logger } from '../core/log/logger.js';
import { watchJetStream } from '../core/metrics/jetstream.js';
import { serveMetrics, type MetricsServer } from '../core/metrics/server.js';
import { PromMetricsSink } from '../core/metrics/sink.js';
import { Coordinator } from '../coordinator/coordinator.js';
import { JetStreamJournal } from '../coordinator/journal/jetstream.js';
import { startCoordinatorServer } from '../coordinator/service.js';
import { armShutdownDeadline, nextSignal, ProcessBase } from './lifecycle.js';
import { openSecurity, type SecureProcessOptions } from './secure-options.js';

/** The process exits this long before --drain-timeout-s at the latest: strictly within it, even on a loaded machine (a 0.5 s margin measured 4.25 s of 4 at load 38). */
const EXIT_MARGIN_MS = 1000;

export interface CoordinatorProcessOptions extends SecureProcessOptions {
  /** gRPC HOST:PORT (port 0 = any) */
  readonly listen: string;
  readonly natsUrl: string;
  readonly natsPrefix: string;
  /** copies of the journal stream and the result bucket in JetStream (default 1; 3 on a 3-server cluster) */
  readonly natsReplicas?: number;
  /** how long and how much JetStream keeps of finished results and of job journals (defaults: 30 and 7 days, no size cap) */
  readonly retention?: CoordinatorRetention;
  /** Prometheus /metrics port (0 = any); none when undefined */
  readonly metricsPort?: number;
  readonly scoreTimeoutMs: number;
  readonly workerTimeoutMs: number;
  readonly queueFactor: number;
  /** candidates in flight per worker while one job alone has its pool with a backlog (default queueFactor: never deeper) */
  readonly soloQueueFactor?: number;
  /** concurrent jobs, and watchers, per client identity (default 100) */
  readonly maxJobsPerClient?: number;
  /** how long drain() waits for running jobs */
  readonly drainMs: number;
  /** structured log (default JSON lines on stderr, human lines on a terminal) */
  readonly log?: Logger;
}

export interface CoordinatorRetention {
  readonly resultsTtlDays?: number;
  /** bytes all stored results may take; the oldest go first */
  readonly resultsMaxBytes?: number;
  readonly journalTtlDays?: number;
  /** bytes the journal stream may take; JetStream drops the oldest records past it */
  readonly journalMaxBytes?: number;
}

/**
 * The coordinator as a process: NATS score bus and JetStream result store, the Coordinator service with its
 * health, the metrics endpoint. start() brings them up; run() serves until SIGTERM/SIGINT, then drains and
 * closes; close() is idempotent and closes every part even when one fails.
 */
export class CoordinatorProcess extends ProcessBase {
  private server: ServingServer | null = null;
  private metricsServer: MetricsServer | null = null;
  private coordinator: Coordinator | null = null;
  /** ms timestamp by which shutdown must be over (0 = not shutting down) */
  private closeBy = 0;
  /** a job journal is open: running jobs survive this process */
  private journaled = false;

  private constructor(private readonly opts: CoordinatorProcessOptions) {
    super('coordinator', opts.log);
  }

  get port(): number {
    return this.server?.port ?? 0;
  }

  /** the metrics endpoint's port, 0 when none */
  get metricsPort(): number {
    return this.metricsServer?.port ?? 0;
  }

  static async start(opts: CoordinatorProcessOptions): Promise<CoordinatorProcess> {
    const p = new CoordinatorProcess(opts);
    await p.boot();
    return p;
  }

  protected async open(): Promise<void> {
    const { opts, log } = this;
    const metrics = new PromMetricsSink('coordinator');
    const security = openSecurity(opts, this.steps);
    const bus = await NatsScoreBus.connect({ url: opts.natsUrl, prefix: opts.natsPrefix, name: 'ttsnap-coordinator', ...(opts.natsAuth ? { auth: opts.natsAuth } : {}), onError: (op) => metrics.inc('natsErrors', { op }) });
    this.steps.push(['score bus', () => bus.close()]);
    const keep = opts.retention ?? {};
    const retention = { ...(keep.resultsTtlDays !== undefined ? { ttlDays: keep.resultsTtlDays } : {}), ...(keep.resultsMaxBytes !== undefined ? { maxBytes: keep.resultsMaxBytes } : {}) };
    const results = await NatsResultStore.open(bus.connection, opts.natsPrefix, retention, opts.natsReplicas ?? 1).catch((err: unknown) => {
      metrics.inc('resultStoreErrors', { op: 'open' });
      log.error({ err }, 'no JetStream result store; results live in memory only');
      return null;
    });
    this.steps.push(['JetStream watch', watchJetStream(bus.connection, metrics)]);
    // The job journal is on whenever JetStream is: running jobs then survive a restart of this process.
    const journal = results
      ? await JetStreamJournal.open(bus.connection, {
          prefix: opts.natsPrefix,
          replicas: opts.natsReplicas ?? 1,
          ...(keep.journalTtlDays !== undefined ? { maxAgeDays: keep.journalTtlDays } : {}),
          ...(keep.journalMaxBytes !== undefined ? { maxBytes: keep.journalMaxBytes } : {}),
          onError: (op, err) => {
            metrics.inc('natsErrors', { op });
            if (op === 'journal_too_large') log.error({ err }, 'job journal: a record over the NATS max_payload was dropped; the job may not resume after a restart');
          },
        }).catch((err: unknown) => {
          log.error({ err }, 'no JetStream job journal; running jobs will not survive a restart');
          return null;
        })
      : null;
    const coordinator = new Coordinator(bus, metrics, { scoreTimeoutMs: opts.scoreTimeoutMs, workerTimeoutMs: opts.workerTimeoutMs, queueFactor: opts.queueFactor, soloQueueFactor: opts.soloQueueFactor ?? opts.queueFactor, results, journal, log });
    this.coordinator = coordinator;
    // Shutdown order: the coordinator first (jobs still running are handed over to the next coordinator, or
    // cancelled without a journal; watchers are told which), then the gRPC server (watchers read their last
    // events), then the journal (what it holds is what clients were told), then the bus. Each step within the
    // time left before the shutdown deadline.
    if (journal) this.steps.unshift(['job journal', async () => {
      await journal.flush(this.timeLeft(2000));
      journal.close();
    }]);
    this.steps.unshift(['coordinator', () => coordinator.close(this.timeLeft(2000))]);
    this.journaled = journal !== null;
    const { running, refused } = await coordinator.resume();
    for (const reason of refused) log.warn({ reason }, `not resuming ${reason}`);
    if (running.length > 0) log.info({ jobs: running }, `resuming ${running.length} running job(s) from the journal: ${running.join(', ')}`);
    const server = await startCoordinatorServer(coordinator, opts.listen, metrics, {
      security,
      ...(opts.maxJobsPerClient !== undefined ? { maxJobsPerClient: opts.maxJobsPerClient } : {}),
      ...(opts.healthListen !== undefined ? { healthAddress: opts.healthListen } : {}),
    });
    this.server = server;
    // Let watchers read their final events and results before the server goes.
    this.steps.splice(1, 0, ['gRPC server', () => stopServing(server, this.timeLeft(5000))]);
    if (opts.metricsPort !== undefined) {
      const ms = await serveMetrics(metrics, opts.metricsPort, opts.metricsHost ?? '127.0.0.1');
      this.metricsServer = ms;
      this.steps.push(['metrics server', () => ms.close()]);
    }
    const host = opts.listen.replace(/:\d+$/, '');
    log.info({ listen: `${host}:${server.port}`, metricsPort: this.metricsServer?.port, healthPort: server.healthPort ?? undefined }, 'coordinator listening');
  }

  /** Health goes NOT_SERVING, new jobs are refused, running ones get up to `ms` (default drainMs); true when all finished. */
  async drain(ms = this.opts.drainMs): Promise<boolean> {
    if (this.current !== 'serving') return this.current !== 'stopped';
    this.current = 'draining';
    this.server?.health.setStatus('', 'NOT_SERVING');
    this.server?.health.setStatus('ttsnap.v1.Coordinator', 'NOT_SERVING');
    return this.coordinator ? this.coordinator.drain(ms) : true;
  }

  /** ms left before the shutdown deadline, at most `max` (`max` itself while no shutdown is under way). */
  private timeLeft(max: number): number {
    return this.closeBy === 0 ? max : Math.max(0, Math.min(max, this.closeBy - Date.now()));
  }

  /**
   * Serves until SIGTERM or SIGINT, then drains and closes, all within drainMs: running jobs get drainMs less
   * what closing needs (a third of it, at most 3 s), and the process exits before drainMs whatever still waits.
   */
  async run(): Promise<void> {
    const { log } = this;
    const { signal } = nextSignal();
    const sig = await signal;
    const { drainMs } = this.opts;
    const budget = Math.max(0, drainMs - EXIT_MARGIN_MS);
    this.closeBy = Date.now() + budget;
    armShutdownDeadline(budget, log);
    log.info({ signal: sig }, 'draining: new jobs refused, running jobs finish');
    let finished = false;
    try {
      finished = await this.drain(budget - Math.min(3000, budget / 3));
    } finally {
      await this.close();
    }
    log.info({ drained: finished }, finished ? 'stopped: all jobs finished' : this.journaled ? 'stopped: drain timed out; running jobs left in the journal for the next coordinator' : 'stopped: drain timed out; running jobs cancelled');
  }
}
