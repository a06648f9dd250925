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
}

/**
 * simulateTrace over several traces, one trace per worker thread at a time (in order of the jobs). Results do not depend on the
 * number of threads: every draw is seeded by (seed, budget index) alone. Callers load the traces and check
 * the options (planSimulation) first, so a worker meets no bad input; a trace's data is copied to it once.
 */
export async function simulateTraces(
  jobs: readonly SimulationJob[],
  { threads = availableParallelism(), onProgress }: SimulateTracesOptions = {},
): Promise<TraceSimulation[]> {
  const total = jobs.reduce((a, j) => a + j.opts.budgets.length, 0);
  const width = Math.max(1, Math.min(threads, jobs.length));
  let done = 0;
  if (width === 1) return jobs.map((j) => simulateTrace(j.trace, { ...j.opts, onBudget: () => onProgress?.(++done, total) }));
  const traces = jobs.map((j) => j.trace);
  const results: TraceSimulation[] = new Array(traces.length);
  let next = 0;
  const workers = Array.from({ length: width }, () => new Worker(new URL('./sim-worker.js', import.meta.url)));
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const feed = (): void => {
              if (next >= traces.length) return resolve();
              const index = next++;
              const { onBudget: _drop, ...opts } = (jobs[index] as SimulationJob).opts; // functions do not cross threads
              const task: SimWorkerTask = { index, trace: traces[index] as RewardTrace, opts };
              worker.postMessage(task);
            };
            worker.on('message', (reply: SimWorkerReply) => {
              if (reply.kind === 'budget') onProgress?.(++done, total);
              else if (reply.kind === 'error') reject(new Error(`simulation worker: ${reply.message}`));
              else {
                results[reply.index] = reply.result;
                feed();
              }
            });
            worker.on('error', reject);
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
