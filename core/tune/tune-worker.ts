import { serveTasks } from '../threads/pool.js';
import type { RewardTrace } from '../trace/reward-trace.js';
import type { SearchProgress } from './search.js';
import { tuneTrace, type TuneOptions, type TuneResult } from './tune.js';

/** A trace to tune, sent by tuneTraces (core/tune/parallel.ts); options without functions (clock, onProgress). */
export interface TuneWorkerTask {
  readonly trace: RewardTrace;
  readonly opts: PlainTuneOptions;
}

export type PlainTuneOptions = Omit<TuneOptions, 'clock' | 'onProgress'>;

serveTasks<TuneWorkerTask, SearchProgress, TuneResult>((task, progress) => tuneTrace(task.trace, { ...task.opts, onProgress: progress }));
