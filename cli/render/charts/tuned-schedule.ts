import type { TopLevelSpec } from 'vega-lite';
import type { Schedule } from '../../../core/engine/schedule.js';
import { CHART_CONFIG } from './theme.js';

/** The schedule tune chose at one budget of one trace. */
export interface TunedBudget {
  readonly trace: string;
  readonly budget: number;
  /** candidates the budget buys under this schedule */
  readonly n: number;
  readonly schedule: Schedule;
}

/**
 * The tuned schedule per budget: for each budget a column of prune points at their steps, each point's area
 * and label the fraction it keeps; N (candidates drawn) above the column. One panel per trace.
 */
export function tunedScheduleSpec(tuned: readonly TunedBudget[]): TopLevelSpec {
  const values = tuned.flatMap((t) => t.schedule.map((p) => ({ trace: t.trace, budget: t.budget, n: t.n, step: p.step, keep: p.alpha })));
  const budgets = [...new Set(tuned.map((t) => t.budget))].sort((a, b) => a - b);
  const x = { field: 'budget', type: 'ordinal', sort: budgets, title: 'budget per prompt (TFLOPs)', axis: { labelAngle: 0 } } as const;
  const y = { field: 'step', type: 'quantitative', title: 'prune step', scale: { zero: true } } as const;
  const layer = [
    { mark: { type: 'circle', color: '#14963c', opacity: 0.8 }, encoding: { x, y, size: { field: 'keep', type: 'quantitative', title: 'fraction kept', scale: { domain: [0, 1], range: [10, 260] } } } },
    { mark: { type: 'text', dx: 9, align: 'left', fontSize: 8, color: '#333' }, encoding: { x, y, text: { field: 'keep', type: 'quantitative', format: '.2f' } } },
    {
      transform: [{ aggregate: [{ op: 'max', field: 'n', as: 'n' }], groupby: ['trace', 'budget'] }, { calculate: "'N=' + datum.n", as: 'label' }],
      mark: { type: 'text', y: -8, fontSize: 9, color: '#777' },
      encoding: { x, text: { field: 'label' } },
    },
  ];
  const common = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CHART_CONFIG,
    title: { text: 'Tuned schedule per budget', subtitle: 'circles: prune points (area and label: fraction kept); N: candidates drawn' },
    data: { values },
  };
  const width = Math.max(320, budgets.length * 44);
  if (new Set(tuned.map((t) => t.trace)).size <= 1) return { ...common, width, height: 260, layer } as TopLevelSpec;
  return { ...common, facet: { field: 'trace', type: 'nominal', title: null }, columns: 2, spec: { width, height: 200, layer } } as TopLevelSpec;
}
