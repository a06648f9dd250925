import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { NatsScoreBus } from '../core/bus/nats.js';
import { infoToProto } from '../core/contract/backend-info.js';
import type { CoordinatorClient } from '../core/generated/ttsnap/v1/Coordinator.js';
import { channelOptions, coordinatorProto, MAX_COORDINATOR_MESSAGE } from '../core/grpc/load.js';
import type { ServingServer } from '../core/grpc/serve.js';
import { shutdown } from '../core/grpc/status.js';
import { serveMetrics, type MetricsServer } from '../core/metrics/server.js';
import { PromMetricsSink } from '../core/metrics/sink.js';
import type { BackendOptions, WorkerBackend } from '../worker/backend.js';
import { createBackend } from '../worker/backends/registry.js';
import { WorkerRuntime } from '../worker/runtime.js';
import { startWorkerServer } from '../worker/server.js';
import { armShutdownDeadline, nextSignal, ProcessBase } from './lifecycle.js';

export interface WorkerProcessOptions {
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
  /** address the coordinator dials (default the listen address; its host name when listening on 0.0.0.0) */
  readonly advertise?: string;
  readonly metricsPort?: number;
  /** how long drain() waits for the coordinator to move this worker's candidates away */
  readonly drainMs: number;
  /** batch watchdog (see WorkerRuntime); default 300 s */
  readonly batchTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

/**
 * A worker as a process: its runtime and backend, the Worker service, the score bus, the metrics endpoint and
 * the registration heartbeat to the coordinator. run() serves until SIGTERM/SIGINT or until the coordinator
 * refuses it, then drains (the coordinator moves candidates away) and closes; close() is idempotent and closes
 * every part even when one fails.
 */
export class WorkerProcess extends ProcessBase {
  private backend: WorkerBackend | null = null;
  private runtime: WorkerRuntime | null = null;
  private server: ServingServer | null = null;
  private coord: CoordinatorClient | null = null;
  private timer: NodeJS.Timeout | undefined;
  private warned = false;
  private ident = '';
  private address = '';
  private refusal: string | null = null;
  private readonly refusedSignal = new AbortController();

  private constructor(private readonly opts: WorkerProcessOptions) {
    super(opts.log);
  }

  get id(): string {
    return this.ident;
  }

  /** Why the coordinator refused this worker, or null. */
  get refused(): string | null {
    return this.refusal;
  }

  static async start(opts: WorkerProcessOptions): Promise<WorkerProcess> {
    const p = new WorkerProcess(opts);
    await p.boot();
    p.register();
    return p;
  }

  protected async open(): Promise<void> {
    const { opts, log } = this;
    const backend = await createBackend(opts.backend, opts.backendOptions);
    this.backend = backend;
    this.steps.push(['backend', () => backend.close()]);
    const metrics = new PromMetricsSink('worker');
    const bus = await NatsScoreBus.connect({ url: opts.natsUrl, prefix: opts.natsPrefix, name: 'ttsnap-worker', onError: (op) => metrics.inc('workerNatsErrors', { op }) });
    this.steps.unshift(['score bus', async () => {
      await bus.flush().catch(() => undefined);
      await bus.close();
    }]);
    // Named once the server has bound (with port 0 the advertised address is known only then).
    const runtime = new WorkerRuntime({ id: opts.id ?? 'pending', backend, bus, metrics, batchTimeoutMs: opts.batchTimeoutMs });
    this.runtime = runtime;
    this.steps.unshift(['runtime', () => runtime.close()]);
    const server = await startWorkerServer(runtime, opts.listen, metrics);
    this.server = server;
    this.steps.unshift(['gRPC server', () => shutdown(server.server, 2000)]);
    const [host] = opts.listen.split(/:(?=\d+$)/) as [string];
    this.address = opts.advertise ?? `${host === '0.0.0.0' || host === '[::]' ? hostname() : host}:${server.port}`;
    this.ident = opts.id ?? this.address;
    runtime.assignId(this.ident);
    let metricsServer: MetricsServer | null = null;
    if (opts.metricsPort !== undefined) {
      const ms = await serveMetrics(metrics, opts.metricsPort);
      metricsServer = ms;
      this.steps.push(['metrics server', () => ms.close()]);
    }
    const Ctor = coordinatorProto().ttsnap.v1.Coordinator;
    const coord = new Ctor(opts.coordinator, grpc.credentials.createInsecure(), channelOptions(MAX_COORDINATOR_MESSAGE));
    this.coord = coord;
    this.steps.splice(1, 0, ['heartbeat', () => {
      clearTimeout(this.timer);
      coord.close();
    }]);
    const { info } = backend;
    log(`ttsnap worker ${this.ident} listening on ${host}:${server.port} (backend ${info.backend}, ${info.model})${metricsServer ? `, metrics on :${metricsServer.port}` : ''}`);
  }

  /** Registers (first call) or heartbeats; reschedules itself at the coordinator's pace until the process stops. */
  private register(): void {
    const { coord, runtime, backend } = this;
    if (!coord || !runtime || !backend || this.current === 'stopped') return;
    const { log } = this;
    const req = { worker: this.ident, address: this.address, info: infoToProto(backend.info), draining: runtime.isDraining, live: runtime.liveCandidates };
    coord.RegisterWorker(req, { deadline: Date.now() + 3000 }, (err, res) => {
      if (err && !this.warned) {
        this.warned = true;
        log(`ttsnap worker: cannot reach the coordinator at ${this.opts.coordinator} (${err.details}); retrying`);
      }
      if (!err) this.warned = false;
      if (res && !res.accepted) {
        this.refusal = res.reason;
        this.refusedSignal.abort();
        return;
      }
      if (this.current !== 'stopped') this.timer = setTimeout(() => this.register(), res?.heartbeat_ms || 500);
    });
  }

  /**
   * Takes no new candidates, tells the coordinator at once (then keeps heartbeating as draining) and waits up to
   * drainMs for it to move the live candidates away, then for the batches in flight.
   */
  async drain(): Promise<void> {
    const { runtime } = this;
    if (this.current !== 'serving' || !runtime) return;
    this.current = 'draining';
    runtime.startDrain();
    this.server?.health.setStatus('', 'NOT_SERVING');
    clearTimeout(this.timer);
    this.register();
    const until = Date.now() + this.opts.drainMs;
    while (!this.refusal && runtime.liveCandidates > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    await runtime.idle();
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
    log(`ttsnap worker ${this.ident}: ${why}, draining`);
    armShutdownDeadline(this.opts.drainMs + 3000, (line) => log(`ttsnap worker ${this.ident}: ${line}`));
    try {
      await this.drain();
    } finally {
      const left = this.runtime?.liveCandidates ?? 0;
      await this.close();
      log(`ttsnap worker ${this.ident}: stopped (${left} candidates left)`);
    }
  }
}
