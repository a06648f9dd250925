import type { Config } from 'vega-lite';
import { FONT_STACK } from '../../../core/image/svg-png.js';

/** The look every chart shares: the bundled font, quiet grid lines, readable sizes. */
export const CHART_CONFIG: Config = {
  font: FONT_STACK,
  background: 'white',
  padding: 12,
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee', titleFontWeight: 'normal' },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'bottom' },
  header: { labelFontSize: 13, labelFontWeight: 'bold' },
  title: { fontSize: 14, anchor: 'start' },
};

/** A colour scale over named series, in the order given. */
export function seriesScale(series: readonly { readonly label: string; readonly color: string }[]): { domain: string[]; range: string[] } {
  return { domain: series.map((s) => s.label), range: series.map((s) => s.color) };
}
