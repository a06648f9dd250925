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

export interface CoordinatorProcessOptions extends SecureProcessOptions {
  /** gRPC HOST:PORT (port 0 = any) */
  readonly listen: string;
  readonly natsUrl: string;
  readonly natsPrefix: string;
  /** copies of the journal stream and the result bucket in JetStream (default 1; 3 on a 3-server cluster) */
  readonly natsReplicas?: number;
  /** Prometheus /metrics port (0 = any); none when undefined */
  readonly metricsPort?: number;
  readonly scoreTimeoutMs: number;
  readonly workerTimeoutMs: number;
  readonly queueFactor: number;
  /** concurrent jobs, and watchers, per client identity (default 100) */
  readonly maxJobsPerClient?: number;
  /** how long drain() waits for running jobs */
  readonly drainMs: number;
  /** structured log (default JSON lines on stderr, human lines on a terminal) */
  readonly log?: Logger;
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
    const results = await NatsResultStore.open(bus.connection, opts.natsPrefix, undefined, opts.natsReplicas ?? 1).catch((err: unknown) => {
      metrics.inc('resultStoreErrors', { op: 'open' });
      log.error({ err }, 'no JetStream result store; results live in memory only');
      return null;
    });
    this.steps.push(['JetStream watch', watchJetStream(bus.connection, metrics)]);
    // The job journal is on whenever JetStream is: running jobs then survive a restart of this process.
    const journal = results
      ? await JetStreamJournal.open(bus.connection, { prefix: opts.natsPrefix, replicas: opts.natsReplicas ?? 1, onError: (op) => metrics.inc('natsErrors', { op }) }).catch((err: unknown) => {
          log.error({ err }, 'no JetStream job journal; running jobs will not survive a restart');
          return null;
        })
      : null;
    const coordinator = new Coordinator(bus, metrics, { scoreTimeoutMs: opts.scoreTimeoutMs, workerTimeoutMs: opts.workerTimeoutMs, queueFactor: opts.queueFactor, results, journal, log });
    this.coordinator = coordinator;
    this.steps.unshift(['coordinator', () => coordinator.close()]);
    if (journal) this.steps.unshift(['job journal', async () => {
      await journal.flush(2000);
      journal.close();
    }]);
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
    this.steps.unshift(['gRPC server', () => stopServing(server, 5000)]);
    if (opts.metricsPort !== undefined) {
      const ms = await serveMetrics(metrics, opts.metricsPort, opts.metricsHost ?? '127.0.0.1');
      this.metricsServer = ms;
      this.steps.push(['metrics server', () => ms.close()]);
    }
    const host = opts.listen.replace(/:\d+$/, '');
    log.info({ listen: `${host}:${server.port}`, metricsPort: this.metricsServer?.port, healthPort: server.healthPort ?? undefined }, 'coordinator listening');
  }

  /** Health goes NOT_SERVING, new jobs are refused, running ones get up to drainMs; true when all finished. */
  async drain(): Promise<boolean> {
    if (this.current !== 'serving') return this.current !== 'stopped';
    this.current = 'draining';
    this.server?.health.setStatus('', 'NOT_SERVING');
    this.server?.health.setStatus('ttsnap.v1.Coordinator', 'NOT_SERVING');
    return this.coordinator ? this.coordinator.drain(this.opts.drainMs) : true;
  }

  /** Serves until SIGTERM or SIGINT, then drains and closes. */
  async run(): Promise<void> {
    const { log } = this;
    const { signal } = nextSignal();
    const sig = await signal;
    log.info({ signal: sig }, 'draining: new jobs refused, running jobs finish');
    // the drain has drainMs; closing (watchers' last events, stored results, the bus) gets 3 s more at most
    armShutdownDeadline(this.opts.drainMs + 3000, log);
    let finished = false;
    try {
      finished = await this.drain();
    } finally {
      await this.close();
    }
    log.info({ drained: finished }, finished ? 'stopped: all jobs finished' : 'stopped: drain timed out; running jobs cancelled');
  }
}
