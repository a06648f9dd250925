import type { TopLevelSpec } from 'vega-lite';
import type { Ledger } from '../../../core/engine/ledger.js';
import type { CostModel } from '../../../core/engine/cost-model.js';
import { CHART_CONFIG } from './theme.js';

/** Cost spent at one stage on one kind of work. */
export interface SpentBar {
  /** "step 2", ..., "final (step 19)" */
  readonly stage: string;
  /** "denoise" or "reward <name>" */
  readonly kind: string;
  readonly cost: number;
}

/**
 * A job's ledger split by stage and kind: each stage's cost divided between denoise steps and each reward's
 * calls in proportion to the cost model (x per denoise step, y per reward call); the parts add up to the
 * stage's cost in the ledger. Without a cost model (a remote job) each stage is one bar.
 */
export function spentBars(ledger: Ledger, cost: Pick<CostModel, 'denoise' | 'verify'> | null): SpentBar[] {
  const last = ledger.stages[ledger.stages.length - 1]?.step;
  return ledger.stages.flatMap((s) => {
    const stage = s.step === last ? `final (step ${s.step})` : `step ${s.step}`;
    if (!cost) return [{ stage, kind: 'denoise and rewards', cost: s.cost }];
    const calls = Object.entries(s.reward_calls);
    const raw = [['denoise', s.denoise_steps * cost.denoise] as const, ...calls.map(([r, n]) => [`reward ${r}`, n * cost.verify] as const)];
    const total = raw.reduce((a, [, v]) => a + v, 0);
    return raw.map(([kind, v]) => ({ stage, kind, cost: total > 0 ? (s.cost * v) / total : 0 }));
  });
}

/** Budget spent by stage and kind, as stacked bars in stage order. */
export function budgetSpentSpec(bars: readonly SpentBar[], unit = 'TFLOPs'): TopLevelSpec {
  const stages = [...new Set(bars.map((b) => b.stage))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CHART_CONFIG,
    title: { text: 'Where the budget went', subtitle: 'cost by stage, split into denoising and reward calls' },
    width: Math.max(240, stages.length * 70),
    height: 240,
    data: { values: bars.map((b) => ({ ...b })) },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'stage', type: 'nominal', sort: stages, title: null, axis: { labelAngle: 0 } },
      y: { field: 'cost', type: 'quantitative', aggregate: 'sum', title: `cost (${unit})` },
      color: { field: 'kind', type: 'nominal', title: null, scale: { scheme: 'tableau10' } },
    },
  } as TopLevelSpec;
}
