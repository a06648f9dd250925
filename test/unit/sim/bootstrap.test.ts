import { describe, expect, it } from 'vitest';
import { bootstrapRelativeIncrease, quantile, type PromptCurves } from '../../../core/sim/bootstrap.js';

/**
 * Two prompts, budgets 1 and 2 (Simpson's rule on two points is the trapezoid). Best-of-N is 1 at budget 1
 * for both prompts, so y0 = 1 on every resample, and 2 / 4 at budget 2; the method is 1 and 3 / 4. The
 * relative increase is 100 * (m - b) / (b - 1) with m, b the budget-2 means, so each resample of the two
 * prompts gives one of three figures: both prompt 0 -> 100 * (3 - 2) / 1 = 100 (chance 1/4), one of each ->
 * 100 * (3.5 - 3) / 2 = 25 (1/2), both prompt 1 -> 0 (1/4). Their standard deviation is 37.5.
 */
const twoPrompts: PromptCurves = {
  budgets: [1, 2],
  bon: [
    [1, 1],
    [2, 4],
  ],
  method: [
    [1, 1],
    [3, 4],
  ],
};
/** The same prompts in the other order: prompt 0 here is prompt 1 there, so its figures pair 0 with 100. */
const swapped: PromptCurves = { budgets: [1, 2], bon: twoPrompts.bon.map((r) => [...r].reverse()), method: twoPrompts.method.map((r) => [...r].reverse()) };

describe('bootstrapRelativeIncrease', () => {
  it('spreads the figure over the three resamples two prompts allow, with their standard deviation', () => {
    const { each, mean } = bootstrapRelativeIncrease([twoPrompts], { resamples: 2000, seed: 1 });
    expect(each[0]!.ci95).toEqual([0, 100]); // a quarter of the mass at each end
    expect(Math.abs(each[0]!.se - 37.5)).toBeLessThan(2); // 2000 resamples: the SD is known to about 1.5 %
    expect(mean).toEqual(each[0]);
  });

  it('resamples the same prompts in every set, so the mean of mirror-image sets only takes 25 or 50', () => {
    // Independent resampling would also give (100 + 100) / 2, (0 + 25) / 2, ...; shared prompts pair
    // 100 with 0 (-> 50) and 25 with 25 (-> 25).
    const { each, mean } = bootstrapRelativeIncrease([twoPrompts, swapped], { resamples: 500, seed: 3 });
    expect(mean.ci95).toEqual([25, 50]);
    expect(Math.abs(mean.se - 12.5)).toBeLessThan(1); // half the time each: SD 12.5
    expect(each[1]!.ci95).toEqual([0, 100]);
  });

  it('gives no spread when every prompt is the same, and repeats itself for a seed', () => {
    const same: PromptCurves = { budgets: [1, 2], bon: [[1, 1, 1], [2, 2, 2]], method: [[1, 1, 1], [3, 3, 3]] };
    expect(bootstrapRelativeIncrease([same], { resamples: 50, seed: 9 }).each[0]).toEqual({ se: 0, ci95: [100, 100] });
    expect(bootstrapRelativeIncrease([twoPrompts], { resamples: 50, seed: 9 })).toEqual(bootstrapRelativeIncrease([twoPrompts], { resamples: 50, seed: 9 }));
  });

  it('refuses sets of different prompts, ragged rows and fewer than two resamples', () => {
    const three: PromptCurves = { budgets: [1, 2], bon: [[1, 1, 1], [2, 2, 2]], method: [[1, 1, 1], [3, 3, 3]] };
    expect(() => bootstrapRelativeIncrease([twoPrompts, three], { resamples: 10, seed: 0 })).toThrow(/one row of 2 prompts per budget/);
    expect(() => bootstrapRelativeIncrease([{ ...twoPrompts, method: [[1, 1]] }], { resamples: 10, seed: 0 })).toThrow(/per budget/);
    expect(() => bootstrapRelativeIncrease([twoPrompts], { resamples: 1, seed: 0 })).toThrow(/resamples must be an integer >= 2, got 1/);
    expect(() => bootstrapRelativeIncrease([], { resamples: 10, seed: 0 })).toThrow(/no prompt curves/);
  });
});

describe('quantile', () => {
  it('interpolates between order statistics as numpy does', () => {
    expect(quantile([0, 1, 2, 3], 0.5)).toBe(1.5);
    expect(quantile([0, 1, 2, 3], 0.025)).toBeCloseTo(0.075, 12);
    expect(quantile([5], 0.975)).toBe(5);
  });
});
