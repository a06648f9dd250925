import { MemoryScoreBus } from '../core/bus/memory.js';
import type { ScoreBus } from '../core/bus/score-bus.js';
import { NO_METRICS, type MetricsSink } from '../core/metrics/sink.js';
import type { BackendOptions } from '../worker/backend.js';
import { createBackend } from '../worker/backends/registry.js';
import { WorkerRuntime } from '../worker/runtime.js';
import { Coordinator, type CoordinatorOptions } from './coordinator.js';
import { InProcessWorkerClient } from './worker-client.js';

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
}

/** Coordinator, workers and bus in one process: the same code as the distributed mode, other transports. */
export interface EmbeddedCluster {
  readonly coordinator: Coordinator;
  readonly workers: readonly WorkerRuntime[];
  close(): Promise<void>;
}

export async function startEmbedded(opts: EmbeddedOptions): Promise<EmbeddedCluster> {
  const bus = opts.bus ?? new MemoryScoreBus();
  const coordinator = new Coordinator(bus, opts.metrics ?? NO_METRICS, opts.coordinator);
  const workers: WorkerRuntime[] = [];
  for (let w = 0; w < (opts.workers ?? 1); w++) {
    const backend = await createBackend(opts.backend, opts.backendOptions);
    const runtime = new WorkerRuntime({ id: `local-${w}`, backend, bus, metrics: opts.workerMetrics ?? NO_METRICS });
    workers.push(runtime);
    coordinator.registerWorker(new InProcessWorkerClient(runtime), backend.info, { remote: false });
  }
  let closed = false;
  return {
    coordinator,
    workers,
    async close() {
      if (closed) return;
      closed = true;
      await coordinator.close();
      await Promise.all(workers.map((w) => w.close()));
      await bus.close();
    },
  };
}
