import { NO_LOG } from '../core/log/logger.js';
import { MemoryScoreBus } from '../core/bus/memory.js';
import type { ScoreBus } from '../core/bus/score-bus.js';
import { NO_METRICS, type MetricsSink } from '../core/metrics/sink.js';
import { Coordinator, type CoordinatorOptions } from '../coordinator/coordinator.js';
import type { BackendOptions, PreviewSink } from '../worker/backend.js';
import { createBackend } from '../worker/backends/registry.js';
import { InProcessWorkerClient } from '../worker/in-process-client.js';
import { sourceOfBackend } from '../worker/collect/source.js';
import { WorkerRuntime } from '../worker/runtime.js';
import { ProcessBase } from './lifecycle.js';
import { describedInfo } from './backend-identity.js';

export interface EmbeddedOptions {
  readonly backend: string;
  readonly backendOptions: BackendOptions;
  /** in-process workers (default 1) */
  readonly workers?: number;
  readonly coordinator?: CoordinatorOptions;
  readonly metrics?: MetricsSink;
  /** metrics of the in-process workers (one sink shared by all) */
  readonly workerMetrics?: MetricsSink;
  /** the score bus (default a fresh in-process one); tests pass a lossy one */
  readonly bus?: ScoreBus;
  /** receives the images the workers' reward calls scored (backends that decode images) */
  readonly previews?: PreviewSink;
}

/**
 * Coordinator, workers and bus in one process: the same code as the distributed mode, other transports
 * (in-process worker clients, an in-memory bus unless one is given). `search` without --coordinator, the
 * benchmarks and the tests run it.
 */
export class EmbeddedCluster extends ProcessBase {
  readonly coordinator: Coordinator;
  readonly workers: WorkerRuntime[] = [];
  private readonly bus: ScoreBus;

  private constructor(private readonly opts: EmbeddedOptions) {
    // a client-side cluster (search without --coordinator): its output is the command's, not a service log
    super('embedded', NO_LOG);
    this.bus = opts.bus ?? new MemoryScoreBus();
    this.coordinator = new Coordinator(this.bus, opts.metrics ?? NO_METRICS, opts.coordinator);
    this.steps.push(['coordinator', () => this.coordinator.close()], ['score bus', () => this.bus.close()]);
  }

  static async start(opts: EmbeddedOptions): Promise<EmbeddedCluster> {
    const cluster = new EmbeddedCluster(opts);
    await cluster.boot();
    return cluster;
  }

  protected async open(): Promise<void> {
    const { opts } = this;
    for (let w = 0; w < (opts.workers ?? 1); w++) {
      const backend = await createBackend(opts.backend, opts.backendOptions, opts.previews ? { previews: opts.previews } : {});
      const runtime = new WorkerRuntime({ id: `local-${w}`, backend, bus: this.bus, metrics: opts.workerMetrics ?? NO_METRICS, collectSource: sourceOfBackend(opts.backend, opts.backendOptions, backend.info) });
      this.workers.push(runtime);
      // workers close after the coordinator and before the bus
      this.steps.splice(this.steps.length - 1, 0, [`worker ${runtime.id}`, () => runtime.close()]);
      this.coordinator.registerWorker(new InProcessWorkerClient(runtime), describedInfo(backend, opts.backend, opts.backendOptions), { remote: false });
    }
  }

  /** Refuses new jobs and waits up to `timeoutMs` for running ones; true when all finished. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.current === 'stopped') return true;
    this.current = 'draining';
    return this.coordinator.drain(timeoutMs);
  }

}

/** Starts an embedded cluster (see EmbeddedCluster). */
export function startEmbedded(opts: EmbeddedOptions): Promise<EmbeddedCluster> {
  return EmbeddedCluster.start(opts);
}
