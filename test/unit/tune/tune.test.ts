import { describe, expect, it } from 'vitest';
import { PAPER_COST } from '../../../core/engine/cost-model.js';
import { parseScheduleFile } from '../../../core/engine/schedule-file.js';
import { simulateTrace } from '../../../core/sim/simulate.js';
import { syntheticTrace } from '../../../core/trace/synthetic.js';
import type { RewardTrace } from '../../../core/trace/reward-trace.js';
import { formatPlan } from '../../../core/tune/plan.js';
import { toScheduleFile, tuneTrace, type TuneOptions } from '../../../core/tune/tune.js';
import { tickingClock } from './fixtures.js';

const trace = syntheticTrace({ prompts: 12, candidates: 24, steps: 6, seed: 3 });
const cost = { ...PAPER_COST, steps: 6 }; // a finished candidate costs 6 * 9.9 + 1.2 = 60.6
const budgets = [130, 180, 230, 280, 330];

function options(): TuneOptions {
  // A clock that barely moves: the passes, not the time, end the search, so runs are deterministic.
  return {
    budgets, cost, accounting: 'exact', trainPrompts: [0, 8], valPrompts: [8, 12], maxStages: 2,
    maxSeconds: 1e6, draws: 10, searchDraws: 6, seed: 1, maxPasses: 2, clock: tickingClock(1e-6),
  };
}

/** The same trace with the validation prompts' rewards replaced. */
function withOtherValidationPrompts(t: RewardTrace, from: number): RewardTrace {
  const base = t.base.slice();
  const narf = t.narf.slice();
  const start = from * t.candidates * t.steps;
  for (let i = start; i < base.length; i++) {
    base[i] = Math.sin(i);
    narf[i] = Math.cos(i * 7);
  }
  return { ...t, base, narf };
}

describe('tuneTrace', () => {
  const result = tuneTrace(trace, options());

  it('never reads the validation prompts while choosing', () => {
    const other = tuneTrace(withOtherValidationPrompts(trace, 8), options());
    const plans = (r: typeof result) => r.choices.map((c) => `${c.budget}:${c.best.realized.n}:${formatPlan(c.best.realized.plan)}`);
    expect(plans(other)).toEqual(plans(result));
    expect(other.train_relative_increase_pct).toBe(result.train_relative_increase_pct);
    expect(other.validation.relative_increase_pct.ttsnap).not.toBe(result.validation.relative_increase_pct.ttsnap);
  });

  it('never does worse than best-of-N on the training draws', () => {
    for (const c of result.choices) expect(c.best.score).toBeGreaterThanOrEqual(c.bon.score);
    expect(result.train_relative_increase_pct).toBeGreaterThanOrEqual(0);
  });

  it('writes a schedule file that simulate reproduces the validation figure from', () => {
    const json = JSON.parse(JSON.stringify(toScheduleFile(result, options(), trace.steps))) as unknown;
    const file = parseScheduleFile(json, 'tuned.json', trace.steps);
    expect([...file.perBudget.keys()]).toEqual(budgets);
    const sim = simulateTrace(trace, {
      budgets, draws: 10, seed: 1, schedule: file.schedule, perBudget: file.perBudget, cost, accounting: 'exact', prompts: [8, 12],
    });
    expect(sim.relative_increase_pct.ttsnap).toBe(result.validation.relative_increase_pct.ttsnap);
    expect(sim.candidates.ttsnap).toEqual(result.choices.map((c) => c.best.realized.n));
  });

  it('refuses overlapping training and validation prompts', () => {
    expect(() => tuneTrace(trace, { ...options(), valPrompts: [6, 12] })).toThrow(/--prompts-val: 6:12 overlaps --prompts-train 0:8/);
  });
});
