import { serveTasks } from '../threads/pool.js';
import type { RewardTrace } from '../trace/reward-trace.js';
import { simulateTrace, type SimulateOptions, type TraceSimulation } from './simulate.js';

/** A trace to simulate, sent by simulateTraces (core/sim/parallel.ts); progress is one message per budget. */
export interface SimWorkerTask {
  readonly trace: RewardTrace;
  readonly opts: SimulateOptions;
}

serveTasks<SimWorkerTask, null, TraceSimulation>((task, progress) => simulateTrace(task.trace, { ...task.opts, onBudget: () => progress(null) }));
