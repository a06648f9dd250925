import { join } from 'node:path';
import { PAPER_COST } from '../../../core/engine/cost-model.js';
import { plannedLedger, type Ledger } from '../../../core/engine/ledger.js';
import { PromptSearch } from '../../../core/engine/prompt-search.js';
import type { Schedule } from '../../../core/engine/schedule.js';
import { loadRewardTrace, traceOffset, type RewardTrace } from '../../../core/trace/reward-trace.js';
import { drawCandidates } from '../../../coordinator/candidates.js';
import { runtimeTraceDir } from '../../support/traces.js';

/** The paper's flux_pic trace, or a synthetic one of its shape where ../shared is absent (test/support/traces.ts). */
const TRACES = runtimeTraceDir();
export const BASE = join(TRACES, 'flux_pic_base.npy');
export const NARF = join(TRACES, 'flux_pic_narf.npy');

let cached: RewardTrace | undefined;
export function trace(): RewardTrace {
  cached ??= loadRewardTrace(BASE, NARF);
  return cached;
}

export interface EnginePick {
  readonly prompt: number;
  readonly winner: number;
  readonly explored: number[];
  readonly ledger: Ledger;
}

/** The engine alone: PromptSearch fed straight from the trace (narf at prune points), and plannedLedger. */
export function engineAlone(prompts: readonly number[], n: number, schedule: Schedule, seed: number, t: RewardTrace = trace()): EnginePick[] {
  return prompts.map((p) => {
    const explored = drawCandidates(t.candidates, n, seed, p);
    const search = new PromptSearch(explored, schedule, t.steps);
    while (!search.done) {
      const req = search.request();
      const src = req.final ? t.base : t.narf;
      search.submit([Float64Array.from(search.alive(), (i) => src[traceOffset(t, p, i) + req.step] as number)]);
    }
    const ledger = plannedLedger(n, schedule, { ...PAPER_COST, steps: t.steps }, 'exact', ['pic'], ['pic']);
    return { prompt: p, winner: search.winner(), explored: [...explored], ledger };
  });
}
