import type { TopLevelSpec } from 'vega-lite';
import { SIM_SERIES } from '../sim-series.js';
import type { BandPoint } from './curve-band.js';
import { CHART_CONFIG, seriesScale } from './theme.js';

/**
 * Mean best reward against budget, one line per policy with its shaded 95 % band over resampled prompts; one
 * panel per trace (three to a row) when there are several.
 */
export function rewardBudgetSpec(points: readonly BandPoint[], title = 'Best reward against budget'): TopLevelSpec {
  const color = {
    field: 'policy',
    type: 'nominal',
    title: null,
    scale: seriesScale(SIM_SERIES),
    sort: SIM_SERIES.map((s) => s.label),
    // solid strokes in the legend, not the faint band the legend would otherwise take its symbols from
    legend: { symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1 },
  } as const;
  const x = { field: 'budget', type: 'quantitative', title: 'budget per prompt (TFLOPs)', scale: { zero: false, nice: false } } as const;
  const layer = [
    { mark: { type: 'area', opacity: 0.18 }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'mean best reward', scale: { zero: false } }, y2: { field: 'hi' }, color } },
    { mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color } },
    { mark: { type: 'point', filled: true, size: 22 }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color } },
  ] as const;
  const traces = new Set(points.map((p) => p.trace));
  const data = { values: points.map((p) => ({ ...p })) };
  const common = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config: CHART_CONFIG, data, title: { text: title, subtitle: 'shaded: 95% interval of the mean over resampled prompts' } } as const;
  if (traces.size <= 1) return { ...common, width: 520, height: 320, layer: [...layer] } as TopLevelSpec;
  return { ...common, facet: { field: 'trace', type: 'nominal', title: null }, columns: 3, resolve: { scale: { y: 'independent', x: 'independent' } }, spec: { width: 300, height: 210, layer: [...layer] } } as TopLevelSpec;
}
