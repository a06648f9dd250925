import asciichart from 'asciichart';
import type { TraceSimulation } from '../../core/sim/simulate.js';
import { SIM_SERIES } from './sim-series.js';
import { formatTable } from './table.js';

/** What a report says about the run besides the numbers. */
export interface ReportContext {
  readonly name: string;
  readonly shape: readonly [number, number, number];
  readonly accounting: string;
  readonly schedule: string;
  readonly draws: number;
  /** ANSI colours in the chart (only on a terminal) */
  readonly color: boolean;
}

const TERMINAL = {
  bon: { color: asciichart.lightgray, mark: '.' },
  ttsp: { color: asciichart.yellow, mark: 'o' },
  ttsnap: { color: asciichart.green, mark: '#' },
} as const;
const SERIES = SIM_SERIES.map((s) => ({ ...s, ...TERMINAL[s.key] }));

const pct = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(2)}%`;

/** A table of mean best reward per budget, the metric, and a terminal chart of reward against budget. */
export function formatSimulationReport(r: TraceSimulation, ctx: ReportContext): string {
  const [p, c, s] = ctx.shape;
  const lines = [
    `${ctx.name}: ${p} prompts x ${c} candidates x ${s} steps; ${ctx.accounting} accounting; schedule ${ctx.schedule || '(none)'}; ${ctx.draws} draws`,
  ];
  const header = ['budget', 'N bon', 'N ttsnap', 'best-of-N', 'TTSnap', 'TTSp'];
  const rows = r.budgets.map((b, i) => [
    String(b),
    String(r.candidates.bon[i]),
    String(r.candidates.ttsnap[i]),
    ...(['bon', 'ttsnap', 'ttsp'] as const).map((key) => (r.curves[key][i] as number).toPrecision(6)),
  ]);
  lines.push(formatTable(header, rows, { rule: true }));
  lines.push(`relative increase over best-of-N: TTSnap ${pct(r.relative_increase_pct.ttsnap)}, TTSp ${pct(r.relative_increase_pct.ttsp)}`);
  lines.push('', asciiChart(r, ctx.color));
  return `${lines.join('\n')}\n`;
}

/**
 * Reward against budget, resampled to about 60 columns so the chart reads at terminal width. On a terminal
 * the series are coloured; otherwise each series is drawn alone on the same scale and overlaid with its
 * own mark, so the chart also reads in a log file.
 */
function asciiChart(r: TraceSimulation, color: boolean): string {
  const width = Math.max(r.budgets.length, 60);
  const series = SERIES.map(({ key }) => resample(r.curves[key], width));
  const all = series.flat();
  const cfg = { height: 12, min: Math.min(...all), max: Math.max(...all), format: (x: number) => x.toPrecision(5).padStart(10) };
  let chart: string;
  if (color) {
    chart = asciichart.plot(series, { ...cfg, colors: SERIES.map((s) => s.color) });
  } else {
    const grids = series.map((ys) => asciichart.plot(ys, cfg).split('\n'));
    chart = (grids[0] as string[])
      .map((row, i) => {
        const axisEnd = row.search(/[┤┼]/) + 1;
        const cells = [...row.slice(axisEnd)];
        // later series win: TTSnap is drawn over TTSp over best-of-N
        grids.forEach((g, k) => {
          [...(g[i] ?? '').slice(axisEnd)].forEach((ch, j) => {
            if (ch !== ' ') cells[j] = (SERIES[k] as (typeof SERIES)[number]).mark;
          });
        });
        return row.slice(0, axisEnd) + cells.join('');
      })
      .join('\n');
  }
  const first = r.budgets[0] ?? 0;
  const last = r.budgets[r.budgets.length - 1] ?? 0;
  const axis = `${' '.repeat(12)}${String(first).padEnd(width - String(last).length)}${last}  (budget)`;
  const legend = SERIES.map((s) => (color ? asciichart.colored(`── ${s.label}`, s.color) : `${s.mark} ${s.label}`)).join('   ');
  return `${chart}\n${axis}\n${' '.repeat(12)}${legend}`;
}

/** Linear interpolation of ys (equally spaced) onto `width` points. */
function resample(ys: readonly number[], width: number): number[] {
  if (ys.length < 2) return [...ys];
  return Array.from({ length: width }, (_, i) => {
    const x = (i * (ys.length - 1)) / (width - 1);
    const lo = Math.floor(x);
    const hi = Math.min(lo + 1, ys.length - 1);
    return (ys[lo] as number) + ((ys[hi] as number) - (ys[lo] as number)) * (x - lo);
  });
}
