import { describe, expect, it } from 'vitest';
import { neighbours, seedPlans } from '../../../core/tune/moves.js';
import { formatPlan, isValidPlan } from '../../../core/tune/plan.js';

describe('plan moves', () => {
  it('lists every plan one move away, in a fixed order', () => {
    const got = neighbours({ steps: [2], keeps: [4] }, { steps: 6, maxStages: 2 }).map(formatPlan);
    expect(got).toEqual([
      '0:4', '1:4', '3:4', '4:4', // step shifts of -2, -1, +1, +2
      '2:3', '2:5', // keep x0.75 -> 3, x0.9 -> 3 (same), x1.12 -> 5, x1.33 -> 5 (same)
      'bon', // drop the only prune point
      '0:9,2:4', '0:14,2:4', // add an earlier point keeping 2k+1 or 3k+2
      '2:4,4:2', // add a later point keeping the geometric mean of 4 and 1
    ]);
  });

  it('never adds prune points beyond maxStages', () => {
    const got = neighbours({ steps: [0, 2], keeps: [9, 4] }, { steps: 6, maxStages: 2 });
    expect(got.every((p) => p.steps.length <= 2)).toBe(true);
    expect(got.map(formatPlan)).toContain('2:4'); // dropping the first point
  });

  it('seeds are valid and include best-of-N', () => {
    const seeds = seedPlans({ steps: 20, maxStages: 4 });
    expect(formatPlan(seeds[0] ?? { steps: [1], keeps: [1] })).toBe('bon');
    expect(seeds.every((p) => isValidPlan(p, 20))).toBe(true);
    expect(seedPlans({ steps: 20, maxStages: 1 }).every((p) => p.steps.length <= 1)).toBe(true);
  });

  it("with pruneSteps (a trace's variant steps) plans prune only there, and moves step between them", () => {
    const space = { steps: 20, maxStages: 2, pruneSteps: [2, 6, 11] };
    const seeds = seedPlans(space);
    expect(new Set(seeds.flatMap((p) => p.steps))).toEqual(new Set([2, 6, 11]));
    expect(seeds.filter((p) => p.steps.length === 2).map((p) => p.steps.join()).filter((v, i, a) => a.indexOf(v) === i)).toEqual(['2,6', '2,11']);
    expect(neighbours({ steps: [6], keeps: [4] }, space).map(formatPlan)).toEqual(['2:4', '11:4', '6:3', '6:5', 'bon', '2:9,6:4', '2:14,6:4', '6:4,11:2']);
    expect(seedPlans({ ...space, pruneSteps: [] }).map(formatPlan)).toEqual(['bon']);
    expect(neighbours({ steps: [], keeps: [] }, { ...space, pruneSteps: [] })).toEqual([]);
  });
});

