import { MemoryScoreBus } from '../core/bus/memory.js';
import type { ScoreBus } from '../core/bus/score-bus.js';
import { NO_METRICS, type MetricsSink } from '../core/metrics/sink.js';
import { Coordinator, type CoordinatorOptions } from '../coordinator/coordinator.js';
import type { BackendOptions, PreviewSink } from '../worker/backend.js';
import { createBackend } from '../worker/backends/registry.js';
import { InProcessWorkerClient } from '../worker/in-process-client.js';
import { WorkerRuntime } from '../worker/runtime.js';
import { runAll, type ProcessState } from './lifecycle.js';

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
export class EmbeddedCluster {
  private current: ProcessState = 'serving';

  private constructor(
    readonly coordinator: Coordinator,
    readonly workers: readonly WorkerRuntime[],
    private readonly bus: ScoreBus,
  ) {}

  static async start(opts: EmbeddedOptions): Promise<EmbeddedCluster> {
    const bus = opts.bus ?? new MemoryScoreBus();
    const coordinator = new Coordinator(bus, opts.metrics ?? NO_METRICS, opts.coordinator);
    const workers: WorkerRuntime[] = [];
    const cluster = new EmbeddedCluster(coordinator, workers, bus);
    cluster.current = 'starting';
    try {
      for (let w = 0; w < (opts.workers ?? 1); w++) {
        const backend = await createBackend(opts.backend, opts.backendOptions, opts.previews ? { previews: opts.previews } : {});
        const runtime = new WorkerRuntime({ id: `local-${w}`, backend, bus, metrics: opts.workerMetrics ?? NO_METRICS });
        workers.push(runtime);
        coordinator.registerWorker(new InProcessWorkerClient(runtime), backend.info, { remote: false });
      }
    } catch (err) {
      await cluster.close().catch(() => undefined);
      throw err;
    }
    cluster.current = 'serving';
    return cluster;
  }

  get state(): ProcessState {
    return this.current;
  }

  /** Refuses new jobs and waits up to `timeoutMs` for running ones; true when all finished. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.current === 'stopped') return true;
    this.current = 'draining';
    return this.coordinator.drain(timeoutMs);
  }

  /** Idempotent; every step runs even when one fails. */
  async close(): Promise<void> {
    if (this.current === 'stopped') return;
    this.current = 'stopped';
    await runAll([
      ['coordinator', () => this.coordinator.close()],
      ...this.workers.map((w): readonly [string, () => Promise<void>] => [`worker ${w.id}`, () => w.close()]),
      ['score bus', () => this.bus.close()],
    ]);
  }
}

/** Starts an embedded cluster (see EmbeddedCluster). */
export function startEmbedded(opts: EmbeddedOptions): Promise<EmbeddedCluster> {
  return EmbeddedCluster.start(opts);
}
