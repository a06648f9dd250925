import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { NatsScoreBus } from '../core/bus/nats.js';
import { infoToProto, type BackendInfo } from '../core/contract/backend-info.js';
import { PROTOCOL_VERSION } from '../core/contract/protocol.js';
import { describedInfo } from './backend-identity.js';
import type { CoordinatorClient } from '../core/generated/ttsnap/v1/Coordinator.js';
import { channelOptions, coordinatorProto, MAX_COORDINATOR_MESSAGE } from '../core/grpc/load.js';
import { stopServing, type ServingServer } from '../core/grpc/serve.js';
import type { Logger } from '../core/log/logger.js';
import type { SecurityContext } from '../core/security/context.js';
import { refusalOf } from '../core/security/diagnose.js';
import type { RefusedError } from '../core/security/errors.js';
import { serveMetrics, type MetricsServer } from '../core/metrics/server.js';
import { PromMetricsSink } from '../core/metrics/sink.js';
import type { BackendOptions, WorkerBackend } from '../worker/backend.js';
import { createBackend } from '../worker/backends/registry.js';
import { WorkerPreviews } from '../worker/previews.js';
import { sourceOfBackend } from '../worker/collect/source.js';
import { WorkerRuntime } from '../worker/runtime.js';
import { startWorkerServer } from '../worker/server.js';
import { armShutdownDeadline, nextSignal, ProcessBase } from './lifecycle.js';
import { openSecurity, type SecureProcessOptions } from './secure-options.js';
import { gridDelay } from '../core/grid-delay.js';

/**
 * Scores of a remote worker go out on this grid of the wall clock: those of many workers reach the coordinator
 * together, and it wakes once for a burst instead of once for each message. At 64 simulated workers this cut the
 * coordinator's CPU a candidate by about a third (bench:scale; README). A stage waits up to this long more for
 * its last score, nothing beside a batch on an accelerator; the worker keeps denoising its queue meanwhile.
 */
export const DEFAULT_SCORE_GRID_MS = 50;
/**
 * The grid a job's scores wait for while its queued work lasts past that grid's next point (WorkerRuntime's
 * busyScoreGridMs): at 64 workers fewer, larger bursts reach the coordinator (bench:scale at 1M, 50 ms steps:
 * 60.2 and 61.5 us of coordinator CPU per candidate, utilisation 0.997 and 0.998; held on a batch's worth of
 * queued work instead, 53.2 and 54.7 us at 0.988 and 0.989; at 100k on the 50 ms grid alone 81.2 to 100.3 us).
 */
export const DEFAULT_BUSY_SCORE_GRID_MS = 200;

/**
 * Heartbeats in a row that may go as keepalives on a Batch stream; the next is a RegisterWorker call all the
 * same. A stream can outlive its coordinator unnoticed (its host gone without closing the connection): the
 * worker then still reaches the coordinator now behind the address within this many intervals.
 */
export const KEEPALIVES_IN_ROW = 9;

export interface WorkerProcessOptions extends SecureProcessOptions {
  /** backend name in the registry (worker/backends/registry.ts) and its options */
  readonly backend: string;
  readonly backendOptions: BackendOptions;
  /** gRPC HOST:PORT (port 0 = any) */
  readonly listen: string;
  /** coordinator HOST:PORT to register with */
  readonly coordinator: string;
  readonly natsUrl: string;
  readonly natsPrefix: string;
  /** worker id (default the advertised address) */
  readonly id?: string;
  /**
   * address the coordinator dials (default the listen address; its host name when listening on 0.0.0.0); under
   * TLS a name the worker's certificate carries (in Kubernetes the pod's DNS name, not its IP)
   */
  readonly advertise?: string;
  readonly metricsPort?: number;
  /** how long drain() waits for the coordinator to move this worker's candidates away */
  readonly drainMs: number;
  /** batch watchdog (see WorkerRuntime); default 300 s */
  readonly batchTimeoutMs?: number;
  /** ms grid of the wall clock on which scores are published (default DEFAULT_SCORE_GRID_MS; 0 = at once) */
  readonly scoreGridMs?: number;
  /** the grid a job's scores wait for while its queued work lasts past that grid's next point (default DEFAULT_BUSY_SCORE_GRID_MS; at most scoreGridMs = none coarser) */
  readonly busyScoreGridMs?: number;
  /** structured log (default JSON lines on stderr, human lines on a terminal) */
  readonly log?: Logger;
}

/**
 * A worker as a process: its runtime and backend, the Worker service, the score bus, the metrics endpoint and
 * the registration heartbeat to the coordinator. run() serves until SIGTERM/SIGINT or until the coordinator
 * refuses it, then drains (the coordinator moves candidates away) and closes; close() is idempotent and closes
 * every part even when one fails.
 */
export class WorkerProcess extends ProcessBase {
  private backend: WorkerBackend | null = null;
  /** the backend's info with its provider and fingerprint, as registered */
  private info: BackendInfo | null = null;
  private metrics: PromMetricsSink | null = null;
  private runtime: WorkerRuntime | null = null;
  private server: ServingServer | null = null;
  private coord: CoordinatorClient | null = null;
  private timer: NodeJS.Timeout | undefined;
  private warned = false;
  private ident = '';
  private address = '';
  private refusal: string | null = null;
  private securityRefusal: RefusedError | null = null;
  private security: SecurityContext | null = null;
  private readonly refusedSignal = new AbortController();
  /** ms timestamp by which shutdown must be over (0 = not shutting down) */
  private closeBy = 0;
  /** the coordinator's heartbeat interval (its last answer says) */
  private heartbeatMs = 500;
  /** heartbeats sent as keepalives since the last call or answer */
  private keepalivesInRow = 0;
  /** whether the coordinator accepted a heartbeat of this process, and the draining flag it then said */
  private heard: { draining: boolean } | null = null;
  private saidStuck = false;

  private constructor(private readonly opts: WorkerProcessOptions) {
    super('worker', opts.log);
  }

  get id(): string {
    return this.ident;
  }

  /** Why the coordinator refused this worker, or null. */
  get refused(): string | null {
    return this.refusal;
  }

  /** The TLS or authorisation refusal that stopped this worker (never retried), or null. */
  get refusedBySecurity(): RefusedError | null {
    return this.securityRefusal;
  }

  static async start(opts: WorkerProcessOptions): Promise<WorkerProcess> {
    const p = new WorkerProcess(opts);
    await p.boot();
    p.register();
    return p;
  }

  protected async open(): Promise<void> {
    const { opts, log } = this;
    // /metrics answers before the model loads (minutes for a large one): Prometheus sees the pod up with
    // ttsnap_worker_ready 0, so a scale-up is not a "worker down"
    const metrics = new PromMetricsSink('worker');
    metrics.set('workerReady', 0);
    let metricsServer: MetricsServer | null = null;
    if (opts.metricsPort !== undefined) {
      const ms = await serveMetrics(metrics, opts.metricsPort, opts.metricsHost ?? '127.0.0.1');
      metricsServer = ms;
      this.steps.push(['metrics server', () => ms.close()]);
    }
    this.metrics = metrics;
    // the images a backend decodes for its rewards, kept for jobs that ask for previews (search --contact-sheets)
    const previews = new WorkerPreviews();
    const backend = await createBackend(opts.backend, opts.backendOptions, { log: (line) => log.info({ worker: opts.id }, line), previews });
    this.backend = backend;
    this.info = { ...describedInfo(backend, opts.backend, opts.backendOptions), previews: backend.info.renders };
    this.steps.push(['backend', () => backend.close()]);
    const provider = backend.provider ?? 'simulated';
    metrics.set('workerInfo', 1, { backend: backend.info.backend, provider, bundle: backend.info.model });
    const security = openSecurity(opts, this.steps);
    this.security = security;
    const bus = await NatsScoreBus.connect({ url: opts.natsUrl, prefix: opts.natsPrefix, name: 'ttsnap-worker', ...(opts.natsAuth ? { auth: opts.natsAuth } : {}), onError: (op) => metrics.inc('workerNatsErrors', { op }) });
    this.steps.unshift(['score bus', async () => {
      await bus.flush().catch(() => undefined);
      await bus.close();
    }]);
    // Named once the server has bound (with port 0 the advertised address is known only then).
    const runtime = new WorkerRuntime({ id: opts.id ?? 'pending', backend, bus, metrics, log, batchTimeoutMs: opts.batchTimeoutMs, collectSource: sourceOfBackend(opts.backend, opts.backendOptions, backend.info), previews, scoreGridMs: opts.scoreGridMs ?? DEFAULT_SCORE_GRID_MS, busyScoreGridMs: opts.busyScoreGridMs ?? DEFAULT_BUSY_SCORE_GRID_MS });
    this.runtime = runtime;
    this.steps.unshift(['runtime', () => runtime.close()]);
    const server = await startWorkerServer(runtime, opts.listen, metrics, { security, ...(opts.healthListen !== undefined ? { healthAddress: opts.healthListen } : {}) });
    this.server = server;
    this.steps.unshift(['gRPC server', () => stopServing(server, this.closeBy ? Math.max(0, Math.min(2000, this.closeBy - Date.now())) : 2000)]);
    const [host] = opts.listen.split(/:(?=\d+$)/) as [string];
    this.address = opts.advertise ?? `${host === '0.0.0.0' || host === '[::]' ? hostname() : host}:${server.port}`;
    this.ident = opts.id ?? this.address;
    runtime.assignId(this.ident);
    const Ctor = coordinatorProto().ttsnap.v1.Coordinator;
    // Reconnect within a second of a coordinator restart (gRPC's backoff grows to minutes): a resuming coordinator
    // waits one worker timeout for the workers to say what they hold before it recomputes anything.
    const coord = new Ctor(opts.coordinator, security.channelCredentials(), { ...channelOptions(MAX_COORDINATOR_MESSAGE), 'grpc.initial_reconnect_backoff_ms': 250, 'grpc.max_reconnect_backoff_ms': 1000 });
    this.coord = coord;
    this.steps.splice(1, 0, ['heartbeat', () => {
      clearTimeout(this.timer);
      coord.close();
    }]);
    metrics.set('workerReady', 1);
    const { info } = backend;
    log.info({ worker: this.ident, listen: `${host}:${server.port}`, backend: info.backend, provider, bundle: info.model, metricsPort: metricsServer?.port }, 'worker serving');
  }

  /**
   * Registers (first call) or heartbeats; reschedules itself at the coordinator's pace until the process stops.
   * A heartbeat is skipped while the worker answers on its Batch stream (the coordinator counts each answer as
   * one; a change of draining still goes at once), and sent as a keepalive on that stream while it is open: with
   * 64 workers heartbeats were most of what an idle coordinator spent. A stuck worker stops heartbeating, so that
   * the coordinator counts it lost.
   */
  private register(): void {
    const { coord, runtime, info } = this;
    if (!coord || !runtime || !info || this.current === 'stopped') return;
    const { log } = this;
    if (runtime.isStuck) {
      if (!this.saidStuck) log.error({ worker: this.ident }, 'the backend is stuck: no more heartbeats, the coordinator will count this worker lost');
      this.saidStuck = true;
      return;
    }
    if (this.heard?.draining === runtime.isDraining) {
      // An answer within the interval: the coordinator that sent the request is there.
      if (Date.now() - runtime.lastAnswerAt < this.heartbeatMs) {
        this.keepalivesInRow = 0;
        return this.nextBeat();
      }
      // Nothing answered: a keepalive on an open Batch stream, where there is one, serves as the heartbeat (a
      // message on a stream, not a call: workers whose batches outlast the interval heartbeated all the time,
      // each heartbeat about 1 ms of the coordinator's CPU).
      if (this.keepalivesInRow < KEEPALIVES_IN_ROW && runtime.keepalive()) {
        this.keepalivesInRow++;
        return this.nextBeat();
      }
    }
    this.keepalivesInRow = 0;
    const req = { worker: this.ident, address: this.address, info: infoToProto(info), draining: runtime.isDraining, live: runtime.liveCandidates, protocol: PROTOCOL_VERSION, busy_s: runtime.busySeconds };
    coord.RegisterWorker(req, { deadline: Date.now() + 3000 }, (err, res) => {
      // another protocol version: final, as a refusal is (the reason names both versions)
      if (err?.code === grpc.status.FAILED_PRECONDITION) {
        this.refusal = err.details;
        this.refusedSignal.abort();
        return;
      }
      if (res?.epoch) runtime.setLease(res.epoch);
      if (err && !this.warned && this.security) {
        this.warned = true;
        // A refusal (TLS, identity, role) is final: stop instead of retrying. Anything else is an outage.
        void refusalOf(err, this.opts.coordinator, this.security).then((refusal) => {
          if (!refusal) return log.warn({ worker: this.ident, coordinator: this.opts.coordinator, error: err.details }, 'cannot reach the coordinator; retrying');
          this.securityRefusal = refusal;
          clearTimeout(this.timer);
          this.refusedSignal.abort();
        });
      }
      if (!err) this.warned = false;
      if (res && !res.accepted) {
        this.refusal = res.reason;
        this.refusedSignal.abort();
        return;
      }
      this.heard = res ? { draining: req.draining } : null;
      if (res?.heartbeat_ms) this.heartbeatMs = res.heartbeat_ms;
      if (this.current !== 'stopped' && !this.securityRefusal) this.nextBeat();
    });
  }

  /**
   * The next heartbeat, one interval on and then to the next quarter-interval (at most 250 ms) of the wall
   * clock: the workers of a coordinator heartbeat together, which it then reads in one wake-up instead of one
   * each (gridDelay). At most a quarter-interval late, well inside the worker timeout (three intervals).
   */
  private nextBeat(): void {
    this.timer = setTimeout(() => this.register(), gridDelay(this.heartbeatMs, Math.min(250, Math.floor(this.heartbeatMs / 4))));
  }

  /**
   * Takes no new candidates, tells the coordinator at once (then keeps heartbeating as draining) and waits up to
   * drainMs for it to move the live candidates away, then for the batches in flight.
   */
  async drain(): Promise<void> {
    const { runtime } = this;
    if (this.current !== 'serving' || !runtime) return;
    this.current = 'draining';
    this.metrics?.set('workerReady', 0);
    runtime.startDrain();
    this.server?.health.setStatus('', 'NOT_SERVING');
    clearTimeout(this.timer);
    if (!this.securityRefusal) this.register();
    // closing (the server, the bus) keeps a third of the drain time, at most 3 s: the process ends within drainMs
    const budget = this.closeBy ? Math.max(0, this.closeBy - Date.now()) : this.opts.drainMs;
    const until = Date.now() + budget - Math.min(3000, budget / 3);
    while (!this.refusal && !this.securityRefusal && runtime.liveCandidates > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    await Promise.race([runtime.idle(), new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())).unref())]);
  }

  /** Serves until SIGTERM/SIGINT or the coordinator's refusal, then drains and closes. */
  async run(): Promise<void> {
    const { log } = this;
    const signals = nextSignal();
    const refused = new Promise<string>((resolve) => {
      if (this.refusedSignal.signal.aborted) resolve('refused');
      this.refusedSignal.signal.addEventListener('abort', () => resolve('refused'), { once: true });
    });
    const why = await Promise.race([signals.signal, refused]);
    signals.stop();
    log.info({ worker: this.ident, signal: why }, 'draining');
    this.closeBy = Date.now() + Math.max(0, this.opts.drainMs - 1000);
    armShutdownDeadline(Math.max(0, this.opts.drainMs - 1000), log);
    try {
      await this.drain();
    } finally {
      const left = this.runtime?.liveCandidates ?? 0;
      await this.close();
      log.info({ worker: this.ident, candidatesLeft: left }, 'stopped');
    }
  }
}
