import { parentPort } from 'node:worker_threads';
import type { RewardTrace } from '../trace/reward-trace.js';
import { simulateTrace, type SimulateOptions, type TraceSimulation } from './simulate.js';

/** A trace to simulate, sent by simulateTraces (core/sim/parallel.ts). */
export interface SimWorkerTask {
  readonly index: number;
  readonly trace: RewardTrace;
  readonly opts: SimulateOptions;
}

export type SimWorkerReply =
  | { readonly kind: 'budget'; readonly index: number }
  | { readonly kind: 'done'; readonly index: number; readonly result: TraceSimulation }
  | { readonly kind: 'error'; readonly index: number; readonly message: string };

const port = parentPort;
if (port) {
  port.on('message', (task: SimWorkerTask) => {
    try {
      const result = simulateTrace(task.trace, { ...task.opts, onBudget: () => port.postMessage({ kind: 'budget', index: task.index }) });
      port.postMessage({ kind: 'done', index: task.index, result } satisfies SimWorkerReply);
    } catch (err) {
      port.postMessage({ kind: 'error', index: task.index, message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies SimWorkerReply);
    }
  });
}
