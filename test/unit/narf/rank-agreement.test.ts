import { describe, expect, it } from 'vitest';
import { averageRanks, differingSteps, kendallTauB, pearson, rankAgreement } from '../../../core/narf/rank-agreement.js';
import type { RewardTrace } from '../../../core/trace/reward-trace.js';

/** [P, I, S] from nested arrays value[p][i][s]. */
function trace(base: number[][][], narf: number[][][]): RewardTrace {
  const flat = (v: number[][][]): Float32Array => Float32Array.from(v.flat(2));
  return { name: 't', prompts: base.length, candidates: base[0]?.length ?? 0, steps: base[0]?.[0]?.length ?? 0, base: flat(base), narf: flat(narf), hasNarf: true };
}

describe('rank statistics', () => {
  it('Kendall tau-b and Spearman rho on known cases, ties as scipy', () => {
    expect(kendallTauB([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(4 / 6, 12);
    expect(kendallTauB([1, 1, 2], [1, 2, 3])).toBeCloseTo(2 / Math.sqrt(6), 12);
    expect(kendallTauB([4, 3, 2, 1], [1, 2, 3, 4])).toBe(-1);
    expect(kendallTauB([5, 5, 5], [1, 2, 3])).toBe(0);
    const r = new Float64Array(4);
    averageRanks([10, 30, 20, 30], r);
    expect([...r]).toEqual([1, 3.5, 2, 3.5]);
    const a = new Float64Array(4);
    const b = new Float64Array(4);
    averageRanks([1, 2, 3, 4], a);
    averageRanks([1, 3, 2, 4], b);
    expect(pearson(a, b)).toBeCloseTo(0.8, 12);
  });

  it('per step, the mean over prompts of within-prompt agreement with the final base score; narf only at variant steps', () => {
    // prompt 0: step 0 base reverses the final order, narf matches it; step 1 both match
    // prompt 1: step 0 base matches, narf reverses
    const base = [
      [[3, 1, 1], [2, 2, 2], [1, 3, 3]],
      [[1, 1, 1], [2, 2, 2], [3, 3, 3]],
    ];
    const narf = [
      [[1, 1, 1], [2, 2, 2], [3, 3, 3]],
      [[3, 1, 1], [2, 2, 2], [1, 3, 3]],
    ];
    const t = trace(base, narf);
    expect(differingSteps(t)).toEqual([0]);
    const r = rankAgreement(t, { resamples: 200, seed: 1 });
    expect(r.steps.map((s) => s.step)).toEqual([0, 1]);
    const [s0, s1] = r.steps;
    expect(s0?.variant).toBe(true);
    expect(s0?.kendall.base.mean).toBe(0); // (-1 + 1) / 2
    expect(s0?.kendall.narf.mean).toBe(0);
    expect(s1?.variant).toBe(false);
    expect(s1?.kendall.base.mean).toBe(1);
    expect(s1?.spearman.narf.mean).toBe(1);
    expect(s1?.kendall.base.se).toBe(0);
    // the bootstrap interval of a mean of -1 and 1 spans both ends
    expect(s0?.kendall.base.ci95).toEqual([-1, 1]);
    // only prompt 0
    const one = rankAgreement(t, { resamples: 10, seed: 1, prompts: [0, 1] });
    expect([one.steps[0]?.kendall.base.mean, one.steps[0]?.kendall.narf.mean, one.steps[0]?.spearman.base.mean]).toEqual([-1, 1, -1]);
    // meta.json's variant steps win over the data: step 0 declared base-only, so narf reads the base values
    const declared = rankAgreement(t, { resamples: 10, seed: 1, prompts: [0, 1], variantSteps: [] }).steps[0];
    expect([declared?.variant, declared?.kendall.narf.mean]).toEqual([false, -1]);
  });
});
