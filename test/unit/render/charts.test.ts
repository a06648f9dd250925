import { describe, expect, it } from 'vitest';
import { budgetSpentSpec, spentBars } from '../../../cli/render/charts/budget-spent.js';
import { curveBands } from '../../../cli/render/charts/curve-band.js';
import { rankAgreementSpec } from '../../../cli/render/charts/rank-agreement.js';
import { renderChart } from '../../../cli/render/charts/render.js';
import { tunedScheduleSpec } from '../../../cli/render/charts/tuned-schedule.js';
import type { Ledger } from '../../../core/engine/ledger.js';
import { decodePng } from '../../../core/image/png.js';
import type { TraceSimulation } from '../../../core/sim/simulate.js';

const sim: TraceSimulation = {
  budgets: [100, 200],
  curves: { bon: [2, 5], ttsnap: [4, 4], ttsp: [1, 1] },
  relative_increase_pct: { ttsnap: 0, ttsp: 0 },
  candidates: { bon: [1, 2], ttsnap: [2, 4] },
  prompt_means: { bon: [[1, 3], [5, 5]], ttsnap: [[4, 4], [0, 8]], ttsp: [[1, 1], [1, 1]] },
};

describe('chart data', () => {
  it('curveBands: each policy and budget gets its mean and the 95% range of resampled prompt means', () => {
    const bands = curveBands('t', sim, 1000, 7);
    expect(bands.map((b) => [b.policy, b.budget, b.mean])).toEqual([
      ['best-of-N', 100, 2], ['best-of-N', 200, 5], ['TTSp', 100, 1], ['TTSp', 200, 1], ['TTSnap', 100, 4], ['TTSnap', 200, 4],
    ]);
    // two prompts: a resample's mean is one of the two values or their average; each extreme has chance 1/4
    expect(bands.map((b) => [b.lo, b.hi])).toEqual([[1, 3], [5, 5], [1, 1], [1, 1], [4, 4], [0, 8]]);
    expect(() => curveBands('t', { ...sim, prompt_means: undefined })).toThrow(/promptMeans/);
  });

  it('spentBars: each stage split into denoising and reward calls by the cost model, adding up to the stage', () => {
    const ledger: Ledger = {
      candidates: 10,
      denoise_steps: 36,
      reward_calls: { align: 14 },
      cost: 79,
      stages: [
        { step: 2, denoise_steps: 30, reward_calls: { align: 10 }, cost: 65 },
        { step: 19, denoise_steps: 6, reward_calls: { align: 4 }, cost: 14 },
      ],
    };
    expect(spentBars(ledger, { denoise: 2, verify: 0.5 })).toEqual([
      { stage: 'step 2', kind: 'denoise', cost: 60 },
      { stage: 'step 2', kind: 'reward align', cost: 5 },
      { stage: 'final (step 19)', kind: 'denoise', cost: 12 },
      { stage: 'final (step 19)', kind: 'reward align', cost: 2 },
    ]);
    expect(spentBars(ledger, null)).toEqual([
      { stage: 'step 2', kind: 'denoise and rewards', cost: 65 },
      { stage: 'final (step 19)', kind: 'denoise and rewards', cost: 14 },
    ]);
  });
});

describe('charts (vega-lite -> SVG -> PNG)', () => {
  it('budget spent: one stacked bar segment per stage and kind, axis titles, PNG at twice the SVG size', async () => {
    const { svg, png } = await renderChart(budgetSpentSpec([
      { stage: 'step 2', kind: 'denoise', cost: 60 },
      { stage: 'step 2', kind: 'reward align', cost: 5 },
      { stage: 'final (step 19)', kind: 'denoise', cost: 12 },
    ]));
    expect(svg.match(/<path [^>]*aria-roledescription="bar"/g)).toHaveLength(3);
    for (const t of ['Where the budget went', 'cost (TFLOPs)', 'step 2', 'final (step 19)', 'reward align']) expect(svg).toContain(`>${t}<`);
    const w = Number(/width="(\d+)"/.exec(svg)?.[1]);
    expect(decodePng(png).width).toBe(2 * w);
  });

  it('rank agreement per step: a line per scorer, a band where intervals are given', async () => {
    const { svg } = await renderChart(rankAgreementSpec([
      { scorer: 'base reward', step: 2, agreement: 0.2 },
      { scorer: 'base reward', step: 6, agreement: 0.5 },
      { scorer: 'NARF', step: 2, agreement: 0.6, lo: 0.5, hi: 0.7 },
      { scorer: 'NARF', step: 6, agreement: 0.8, lo: 0.75, hi: 0.85 },
    ]));
    expect(svg.match(/class="mark-line role-mark/g)).toHaveLength(2);
    expect(svg.match(/class="mark-area role-mark/g)).toHaveLength(1);
    for (const t of ['NARF', 'base reward', 'sampling step scored']) expect(svg).toContain(`>${t}<`);
  });

  it('tuned schedule: a circle per prune point, labelled with what it keeps, N above each budget', async () => {
    const { svg } = await renderChart(tunedScheduleSpec([
      { trace: 't', budget: 400, n: 14, schedule: [{ step: 5, alpha: 0.5 }] },
      { trace: 't', budget: 800, n: 25, schedule: [{ step: 2, alpha: 0.25 }, { step: 14, alpha: 0.67 }] },
    ]));
    expect(svg.match(/aria-roledescription="circle"/g)).toHaveLength(3);
    for (const t of ['0.50', '0.25', '0.67', 'N=14', 'N=25']) expect(svg).toContain(`>${t}<`);
  });
});
