import { runOnWorker, WorkerPool } from '../threads/pool.js';
import type { RewardTrace } from '../trace/reward-trace.js';
import type { SearchProgress } from './search.js';
import { tuneTrace, type TuneResult } from './tune.js';
import type { PlainTuneOptions, TuneWorkerTask } from './tune-worker.js';

/** One trace and the options to tune it with. */
export interface TuneJob {
  readonly trace: RewardTrace;
  readonly opts: PlainTuneOptions;
}

export interface TuneTracesOptions {
  /** traces tuned at once, each on its own worker thread (default 1: one after the other on this thread) */
  readonly threads?: number;
  /** search progress of job `index` */
  readonly onProgress?: (index: number, p: SearchProgress) => void;
  /** job `index` is done (called in the order the jobs finish) */
  readonly onResult?: (index: number, result: TuneResult) => void;
}

/**
 * tuneTrace over several traces (results in job order). With threads > 1 every trace runs on a worker
 * thread, dealt round-robin up front (traces of one run take about --max-seconds each), and this thread
 * only relays progress, so that progress shows while they run. Each trace keeps its own --max-seconds, so
 * the tuning of each is what it would be alone, given a core per thread; the run takes 1/threads the time.
 */
export async function tuneTraces(jobs: readonly TuneJob[], { threads = 1, onProgress, onResult }: TuneTracesOptions = {}): Promise<TuneResult[]> {
  const results: TuneResult[] = new Array(jobs.length);
  const done = (index: number, result: TuneResult): void => {
    results[index] = result;
    onResult?.(index, result);
  };
  const width = Math.max(1, Math.min(threads, jobs.length));
  if (width === 1) {
    jobs.forEach((job, index) => done(index, tuneTrace(job.trace, { ...job.opts, ...(onProgress ? { onProgress: (p) => onProgress(index, p) } : {}) })));
    return results;
  }
  const pool = new WorkerPool(new URL('./tune-worker.js', import.meta.url), width);
  try {
    await Promise.all(
      pool.workers.map((worker, w) =>
        runOnWorker<TuneWorkerTask, SearchProgress, TuneResult>(
          worker,
          jobs.flatMap((job, index) => (index % width === w ? [{ index, task: { trace: job.trace, opts: job.opts } }] : [])),
          (index, p) => onProgress?.(index, p),
          done,
          'tune worker',
        ),
      ),
    );
  } finally {
    await pool.close();
  }
  return results;
}
