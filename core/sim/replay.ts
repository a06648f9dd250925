import { PromptSearch } from '../engine/prompt-search.js';
import type { Policy } from '../engine/policy.js';
import { traceOffset, type RewardTrace } from '../trace/reward-trace.js';

/**
 * Runs one policy on one prompt of a trace through the engine's PromptSearch, reading each requested score
 * from the trace. Returns the winner's final (base) reward. `scratch` must hold trace.candidates numbers.
 */
export function replayPrompt(trace: RewardTrace, prompt: number, candidates: Int32Array, policy: Policy, scratch: Float64Array): number {
  const search = new PromptSearch(candidates, policy.schedule, trace.steps);
  const view = [scratch];
  for (;;) {
    const req = search.request();
    const source = req.final || policy.pruneReward === 'base' ? trace.base : trace.narf;
    const alive = search.alive();
    for (let j = 0; j < alive.length; j++) scratch[j] = source[traceOffset(trace, prompt, alive[j] as number) + req.step] as number;
    search.submit(view);
    if (search.done) return trace.base[traceOffset(trace, prompt, search.winner()) + trace.steps - 1] as number;
  }
}
