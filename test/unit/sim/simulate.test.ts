import { describe, expect, it } from 'vitest';
import { PAPER_COST } from '../../../core/engine/cost-model.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { simulateTraces } from '../../../core/sim/parallel.js';
import { planSimulation, simulateTrace, type SimulateOptions } from '../../../core/sim/simulate.js';
import { syntheticTrace } from '../../../core/trace/synthetic.js';

const trace = syntheticTrace({ prompts: 20, candidates: 80, steps: 20, seed: 1 });
const opts: SimulateOptions = {
  budgets: [400, 800, 1200, 1600, 2000],
  draws: 4,
  seed: 0,
  schedule: PAPER_SCHEDULE,
  cost: PAPER_COST,
  accounting: 'exact',
  prompts: [0, 20],
};

describe('simulateTrace', () => {
  it('gives N per budget from the cost model: floor(B / 199.2) and floor(B / 61.764)', () => {
    expect(planSimulation(trace, opts)).toEqual({ bon: [2, 4, 6, 8, 10], ttsnap: [6, 12, 19, 25, 32] });
    expect(planSimulation(trace, { ...opts, accounting: 'paper' }).ttsnap).toEqual([7, 15, 23, 30, 38]);
  });

  it('is deterministic in the seed and reports the metric of its own curves', () => {
    const a = simulateTrace(trace, opts);
    expect(simulateTrace(trace, opts)).toEqual(a);
    expect(simulateTrace(trace, { ...opts, seed: 1 }).curves.bon).not.toEqual(a.curves.bon);
    expect(a.curves.bon).toHaveLength(5);
    // best-of-N improves with the budget on average; at B=400 it averages two candidates' best
    expect(a.curves.bon[4]!).toBeGreaterThan(a.curves.bon[0]!);
  });

  it('uses a per-budget schedule where one is given', () => {
    const perBudget = new Map([[800, []]]);
    const r = simulateTrace(trace, { ...opts, perBudget });
    // with no pruning at 800 TTSnap is best-of-N there: same N, same draws, same reward
    expect(r.candidates.ttsnap[1]).toBe(4);
    expect(r.curves.ttsnap[1]).toBe(r.curves.bon[1]);
    expect(r.curves.ttsp[1]).toBe(r.curves.bon[1]);
  });

  it('with promptMeans also returns every prompt\'s mean, leaving the figures exactly as they were', () => {
    const plain = simulateTrace(trace, opts);
    const { prompt_means, ...rest } = simulateTrace(trace, { ...opts, promptMeans: true });
    expect(rest).toEqual(plain);
    expect(plain.prompt_means).toBeUndefined();
    for (const policy of ['bon', 'ttsnap', 'ttsp'] as const) {
      const rows = prompt_means![policy];
      expect(rows.map((r) => r.length)).toEqual([20, 20, 20, 20, 20]);
      rows.forEach((row, bi) => expect(row.reduce((a, b) => a + b, 0) / row.length).toBeCloseTo(plain.curves[policy][bi]!, 12));
    }
    // a prompt's mean differs from prompt to prompt: the rows are per prompt, not copies of the curve
    expect(new Set(prompt_means!.bon[2]).size).toBeGreaterThan(1);
  });

  it('makes TTSnap equal TTSp without a noise-aware trace', () => {
    const r = simulateTrace({ ...trace, narf: trace.base, hasNarf: false }, opts);
    expect(r.curves.ttsnap).toEqual(r.curves.ttsp);
    expect(r.relative_increase_pct.ttsnap).toBe(r.relative_increase_pct.ttsp);
  });
});

describe('simulateTraces', () => {
  it('returns the single-thread results in job order', async () => {
    const other = syntheticTrace({ prompts: 20, candidates: 80, steps: 20, seed: 2 });
    const jobs = [
      { trace, opts },
      { trace: other, opts },
    ];
    const inline = await simulateTraces(jobs, { threads: 1 });
    expect(inline).toEqual([simulateTrace(trace, opts), simulateTrace(other, opts)]);
  });
});
