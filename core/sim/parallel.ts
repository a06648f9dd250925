import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { RewardTrace } from '../trace/reward-trace.js';
import { simulateTrace, type SimulateOptions, type TraceSimulation } from './simulate.js';
import type { SimWorkerReply, SimWorkerTask } from './sim-worker.js';

/** One trace and the options to simulate it with (options may differ per trace, e.g. in steps). */
export interface SimulationJob {
  readonly trace: RewardTrace;
  readonly opts: SimulateOptions;
}

/** Progress of a multi-trace run: budgets done over all traces. */
export type ProgressFn = (done: number, total: number) => void;

export interface SimulateTracesOptions {
  /** worker threads at most (default: available parallelism); 1 runs everything on this thread */
  readonly threads?: number;
  readonly onProgress?: ProgressFn;
  /** workers started earlier (see SimWorkerPool), e.g. while the traces were loading */
  readonly pool?: SimWorkerPool;
}

/**
 * Worker threads for simulateTraces. Starting them takes tens of milliseconds each (a fresh V8 isolate
 * and the engine's modules), so a caller can start the pool before it loads the traces.
 */
export class SimWorkerPool {
  readonly workers: readonly Worker[];

  constructor(size: number) {
    this.workers = Array.from({ length: size }, () => new Worker(new URL('./sim-worker.js', import.meta.url)));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Threads worth using for this many traces. */
export function simThreads(traces: number, threads = availableParallelism()): number {
  return Math.max(1, Math.min(threads, traces));
}

/**
 * simulateTrace over several traces, one trace per worker thread at a time (results in job order).
 * Results do not depend on the number of threads: every draw is seeded by (seed, budget index) alone.
 * Callers load the traces and check the options (planSimulation) first, so a worker meets no bad input;
 * trace data loaded by readNpy lies in shared memory and is not copied.
 */
export async function simulateTraces(jobs: readonly SimulationJob[], { threads, onProgress, pool }: SimulateTracesOptions = {}): Promise<TraceSimulation[]> {
  const total = jobs.reduce((a, j) => a + j.opts.budgets.length, 0);
  let done = 0;
  const width = pool ? Math.min(pool.workers.length, jobs.length) : simThreads(jobs.length, threads);
  if (width <= 1) return jobs.map((j) => simulateTrace(j.trace, { ...j.opts, onBudget: () => onProgress?.(++done, total) }));
  const own = pool ? undefined : new SimWorkerPool(width);
  const workers = (pool ?? (own as SimWorkerPool)).workers.slice(0, width);
  const results: TraceSimulation[] = new Array(jobs.length);
  let next = 0;
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const feed = (): void => {
              if (next >= jobs.length) {
                worker.off('message', onMessage);
                worker.off('error', reject);
                return resolve();
              }
              const index = next++;
              const job = jobs[index] as SimulationJob;
              const { onBudget: _drop, ...opts } = job.opts; // functions do not cross threads
              worker.postMessage({ index, trace: job.trace, opts } satisfies SimWorkerTask);
            };
            const onMessage = (reply: SimWorkerReply): void => {
              if (reply.kind === 'budget') onProgress?.(++done, total);
              else if (reply.kind === 'error') reject(new Error(`simulation worker: ${reply.message}`));
              else {
                results[reply.index] = reply.result;
                feed();
              }
            };
            worker.on('message', onMessage);
            worker.on('error', reject);
            feed();
          }),
      ),
    );
  } finally {
    await own?.close();
  }
  return results;
}
