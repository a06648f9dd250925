import { describe, expect, it } from 'vitest';
import { makePolicy } from '../../../core/engine/policy.js';
import { meanBestReward } from '../../../core/sim/simulate.js';
import { Deadline } from '../../../core/tune/deadline.js';
import { PlanEvaluator } from '../../../core/tune/evaluator.js';
import { formatPlan, type PlanContext } from '../../../core/tune/plan.js';
import { searchSchedules, type SearchOptions } from '../../../core/tune/search.js';
import { oracleTrace, tickingClock } from './fixtures.js';

const trace = oracleTrace(); // 4 prompts x 8 candidates x 4 steps; narf is a perfect predictor
const cost = { denoise: 1, verify: 0, steps: 4 };
const ctx: PlanContext = { cost, accounting: 'exact', candidates: trace.candidates };
const evalOpts = { budgets: [8], cost, accounting: 'exact' as const, prompts: [0, 2] as [number, number] };

function options(clock: ReturnType<typeof tickingClock>, ms: number, extra: Partial<SearchOptions> = {}): SearchOptions {
  return { space: { steps: 4, maxStages: 2 }, ctx, budgets: [8], seed: 7, draws: 6, deadline: Deadline.after(clock, ms), maxPasses: 2, ...extra };
}

describe('searchSchedules', () => {
  it('finds the plan that buys the most candidates when the noise-aware reward is perfect', () => {
    // Budget 8 at 1 per step: best-of-N buys 2 candidates (4 steps each); pruning at step 0 to one survivor
    // buys 5 (5 * 1 + 1 * 3 = 8), the most any plan buys. With a perfect predictor it picks the best of 5.
    const clock = tickingClock(0.001);
    const evaluator = new PlanEvaluator(trace, evalOpts);
    const [choice] = searchSchedules(evaluator, options(clock, 1e9));
    expect(choice && formatPlan(choice.best.realized.plan)).toBe('0:1');
    expect(choice?.best.realized.n).toBe(5);
    expect(choice?.bon.realized.n).toBe(2);
    expect(choice?.pass).toBe(1);
    const sim = { budgets: [8], draws: choice?.draws ?? 0, seed: 7 + 1, schedule: [], cost, accounting: 'exact' as const, prompts: [0, 2] as const };
    // The same draws of 5 under best-of-N pick the same winners.
    expect(choice?.best.score).toBe(meanBestReward(trace, makePolicy('bon', []), 5, sim, 0));
    expect(choice?.bon.score).toBe(meanBestReward(trace, makePolicy('bon', []), 2, sim, 0));
    expect(choice?.best.score).toBeGreaterThan(choice?.bon.score ?? Infinity);
  });

  it('starts no evaluation after the deadline and falls back to best-of-N where it did not get to', () => {
    const clock = tickingClock(1);
    const evaluator = new PlanEvaluator(trace, { ...evalOpts, budgets: [8, 12] });
    const starts: number[] = [];
    const score = evaluator.score.bind(evaluator);
    evaluator.score = (...args) => {
      starts.push(clock.now());
      return score(...args);
    };
    const opts = options(clock, 40, { budgets: [8, 12] });
    const choices = searchSchedules(evaluator, opts);
    expect(starts.length).toBeGreaterThan(0);
    expect(Math.max(...starts)).toBeLessThanOrEqual(opts.deadline.at + 1);
    expect(choices.map((c) => c.budget)).toEqual([8, 12]);
    for (const c of choices) {
      // A budget no pass reached runs best-of-N; one that a pass reached carries its scores.
      if (c.pass < 0) expect([formatPlan(c.best.realized.plan), c.best.score]).toEqual(['bon', Number.NaN]);
      else expect(Number.isFinite(c.best.score) && c.best.score >= c.bon.score).toBe(true);
    }
  });

  it('with no time at all returns best-of-N everywhere without evaluating', () => {
    const clock = tickingClock(1);
    const evaluator = new PlanEvaluator(trace, evalOpts);
    const choices = searchSchedules(evaluator, options(clock, 0));
    expect(evaluator.evaluations).toBe(0);
    expect(choices.map((c) => [formatPlan(c.best.realized.plan), c.best.realized.n])).toEqual([['bon', 2]]);
  });
});
