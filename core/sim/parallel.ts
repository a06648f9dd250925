import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { RewardTrace } from '../trace/reward-trace.js';
import { simulateTrace, type SimulateOptions, type TraceSimulation } from './simulate.js';
import type { SimWorkerReply, SimWorkerTask } from './sim-worker.js';

/** Progress of a multi-trace run: budgets done over all traces. */
export type ProgressFn = (done: number, total: number) => void;

export interface SimulateTracesOptions {
  /** worker threads at most (default: available parallelism); 1 runs everything on this thread */
  readonly threads?: number;
  readonly onProgress?: ProgressFn;
}

/**
 * simulateTrace over several traces, one trace per worker thread at a time. Results do not depend on the
 * number of threads: every draw is seeded by (seed, budget index) alone. Traces are loaded and options
 * validated by the caller, so a worker meets no bad input; its data is copied to it once.
 */
export async function simulateTraces(
  traces: readonly RewardTrace[],
  opts: SimulateOptions,
  { threads = availableParallelism(), onProgress }: SimulateTracesOptions = {},
): Promise<TraceSimulation[]> {
  const total = traces.length * opts.budgets.length;
  const width = Math.max(1, Math.min(threads, traces.length));
  if (width === 1) {
    let done = 0;
    return traces.map((t) => simulateTrace(t, { ...opts, onBudget: () => onProgress?.(++done, total) }));
  }
  const { onBudget: _drop, ...plain } = opts; // functions do not cross threads
  const results: TraceSimulation[] = new Array(traces.length);
  let next = 0;
  let done = 0;
  const workers = Array.from({ length: width }, () => new Worker(new URL('./sim-worker.js', import.meta.url)));
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const feed = (): void => {
              if (next >= traces.length) return resolve();
              const index = next++;
              const task: SimWorkerTask = { index, trace: traces[index] as RewardTrace, opts: plain };
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
