import { join } from 'node:path';
import { expect, it } from 'vitest';
import { rankAgreement } from '../../core/narf/rank-agreement.js';
import { loadRewardTrace } from '../../core/trace/reward-trace.js';
import { narfStepsOf } from '../../core/trace/trace-meta.js';
import { describeWithPaperTraces, PAPER_TRACES } from '../support/traces.js';

/** `narf eval` against the paper's own figure: FLUX with ImageReward, step 2, Kendall tau 0.093 (base) -> 0.250 (NARF). */
describeWithPaperTraces("rank agreement against the paper's Figure 3", () => {
  it('flux_imr at step 2: tau within 0.01 of 0.093 (base) and 0.250 (noise-aware)', () => {
    const t = loadRewardTrace(join(PAPER_TRACES, 'flux_imr_base.npy'), join(PAPER_TRACES, 'flux_imr_narf.npy'), 'flux_imr');
    const r = rankAgreement(t, { resamples: 100, seed: 0, variantSteps: narfStepsOf(PAPER_TRACES, 'flux_imr') ?? [] });
    const s2 = r.steps[2];
    expect(s2?.variant).toBe(true);
    expect(Math.abs((s2?.kendall.base.mean ?? NaN) - 0.093)).toBeLessThan(0.01);
    expect(Math.abs((s2?.kendall.narf.mean ?? NaN) - 0.25)).toBeLessThan(0.01);
  });
});
