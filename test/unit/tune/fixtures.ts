import type { Clock } from '../../../core/tune/deadline.js';
import type { RewardTrace } from '../../../core/trace/reward-trace.js';

/**
 * A tiny trace whose noise-aware reward at every step is the final reward itself (a perfect predictor),
 * while the base reward before the last step is the final reward reversed (a misleading one).
 * final(p, i) = 10 * p + ((i * 5 + p) % candidates): distinct within a prompt.
 */
export function oracleTrace(prompts = 4, candidates = 8, steps = 4): RewardTrace {
  const base = new Float32Array(prompts * candidates * steps);
  const narf = new Float32Array(base.length);
  for (let p = 0; p < prompts; p++) {
    for (let i = 0; i < candidates; i++) {
      const final = 10 * p + ((i * 5 + p) % candidates);
      const off = (p * candidates + i) * steps;
      for (let s = 0; s < steps; s++) {
        base[off + s] = s === steps - 1 ? final : -final;
        narf[off + s] = final;
      }
    }
  }
  return { name: 'oracle', prompts, candidates, steps, base, narf, hasNarf: true };
}

/** A clock that moves `tick` ms every time it is read: time limits become exact and the tests instant. */
export function tickingClock(tick: number): Clock & { reads: number } {
  let t = 0;
  const clock = {
    reads: 0,
    now(): number {
      clock.reads++;
      t += tick;
      return t;
    },
  };
  return clock;
}
