import { availableParallelism } from 'node:os';
import { runOnWorker, WorkerPool } from '../threads/pool.js';
import type { RewardTrace } from '../trace/reward-trace.js';
import { simulateTrace, type SimulateOptions, type TraceSimulation } from './simulate.js';
import type { SimWorkerTask } from './sim-worker.js';

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

/** Worker threads for simulateTraces (see WorkerPool: a caller may start them before it loads the traces). */
export class SimWorkerPool extends WorkerPool {
  constructor(size: number) {
    super(new URL('./sim-worker.js', import.meta.url), size);
  }
}

/** Threads worth using for this many traces (this one included: a pool needs one worker fewer). */
export function simThreads(traces: number, threads = availableParallelism()): number {
  return Math.max(1, Math.min(threads, traces));
}

/**
 * simulateTrace over several traces on this thread and the pool's workers (results in job order).
 * Traces are dealt round-robin up front, this thread taking its share too (the traces of one run have
 * one shape, so the shares take about as long), which spares a worker start and an idle main thread.
 * Results do not depend on the number of threads: every draw is seeded by (seed, budget index) alone.
 * Callers load the traces and check the options (planSimulation) first, so a worker meets no bad input;
 * trace data loaded by readNpy lies in shared memory and is not copied.
 */
export async function simulateTraces(jobs: readonly SimulationJob[], { threads, onProgress, pool }: SimulateTracesOptions = {}): Promise<TraceSimulation[]> {
  const total = jobs.reduce((a, j) => a + j.opts.budgets.length, 0);
  let done = 0;
  const progress = (): void => onProgress?.(++done, total);
  const width = pool ? Math.min(pool.workers.length + 1, jobs.length) : simThreads(jobs.length, threads);
  const own = !pool && width > 1 ? new SimWorkerPool(width - 1) : undefined;
  const workers = (pool ?? own)?.workers.slice(0, width - 1) ?? [];
  const results: TraceSimulation[] = new Array(jobs.length);
  const share = (thread: number): number[] => jobs.map((_, i) => i).filter((i) => i % width === thread);
  try {
    const remote = workers.map((worker, w) =>
      runOnWorker<SimWorkerTask, null, TraceSimulation>(
        worker,
        share(w + 1).map((index) => {
          const { trace, opts: { onBudget: _drop, ...opts } } = jobs[index] as SimulationJob; // functions do not cross threads
          return { index, task: { trace, opts } };
        }),
        progress,
        (index, result) => (results[index] = result),
        'simulation worker',
      ),
    );
    // This thread's share runs while the workers run theirs; their messages wait in the queue till then.
    for (const index of share(0)) {
      const job = jobs[index] as SimulationJob;
      results[index] = simulateTrace(job.trace, { ...job.opts, onBudget: progress });
    }
    await Promise.all(remote);
  } finally {
    await own?.close();
  }
  return results;
}
