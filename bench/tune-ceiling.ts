import { fileURLToPath } from 'node:url';
import { PAPER_COST } from '../core/engine/cost-model.js';
import { loadRewardTrace } from '../core/trace/reward-trace.js';
import { listTracePairs } from '../core/trace/trace-dir.js';
import type { TraceSimulation } from '../core/sim/simulate.js';
import { searchTrace, TUNE_DEFAULTS, validateChoices, validationSpread, type TuneOptions } from '../core/tune/tune.js';
import { parseBudgetGrid } from '../cli/options.js';
import { DEFAULT_BUDGET_GRID } from '../cli/trace-source.js';

/**
 * `npm run bench:tune-ceiling`: how much of the tuner's figure is lost to choosing on other prompts. It runs
 * bench:tune's settings (tune's defaults: exact accounting, 60 s per trace, validation prompts 70:100) but
 * lets the search read the validation prompts themselves (with its own draws, as always), then scores the
 * chosen schedules there exactly as `tune` does. That figure is optimistic by construction, an in-sample
 * ceiling of this plan space and search for these 30 prompts, never a result: `tune` refuses overlapping
 * ranges. The gap to bench:tune's honest figure is what over-fitting 70 training prompts costs.
 * Prints one JSON line. Env: TTSNAP_TRACES (folder), BENCH_SECONDS (default 60).
 */
const traces = process.env.TTSNAP_TRACES ?? fileURLToPath(new URL('../../../shared/traces', import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? TUNE_DEFAULTS.maxSeconds);
const budgets = parseBudgetGrid(DEFAULT_BUDGET_GRID);
const val = TUNE_DEFAULTS.valPrompts;

const t0 = process.hrtime.bigint();
const ceiling: Record<string, number> = {};
const validations: TraceSimulation[] = [];
for (const pair of listTracePairs(traces)) {
  const trace = loadRewardTrace(pair.base, pair.narf, pair.name);
  const opts: TuneOptions = {
    ...TUNE_DEFAULTS,
    budgets,
    cost: { ...PAPER_COST, steps: trace.steps },
    accounting: 'exact',
    trainPrompts: val, // the point of this bench: search where it will be scored
    maxSeconds: seconds,
  };
  const { choices } = searchTrace(trace, opts);
  const validation = validateChoices(trace, choices, opts);
  validations.push(validation);
  const pct = validation.relative_increase_pct.ttsnap;
  ceiling[trace.name] = Number(pct.toFixed(2));
  process.stderr.write(`tune-ceiling ${trace.name}: ${pct.toFixed(2)}% searched and scored on prompts ${val.join(':')}\n`);
}
const values = Object.values(ceiling);
const line = {
  bench: 'tune-ceiling',
  settings: { accounting: 'exact', max_seconds: seconds, prompts: val.join(':'), seed: TUNE_DEFAULTS.seed, draws: TUNE_DEFAULTS.draws },
  in_sample_relative_increase_pct: ceiling,
  mean_pct: Number((values.reduce((a, b) => a + b, 0) / values.length).toFixed(2)),
  // the same bootstrap over the validation prompts as bench:tune's error bars
  mean_se_pct: Number(validationSpread(validations, TUNE_DEFAULTS.seed).mean.se.toFixed(2)),
  min_pct: Math.min(...values),
  compare_with: 'npm run bench:tune (the same search on prompts 0:70, scored on 70:100)',
  wall_s: Number((Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)),
};
process.stdout.write(`${JSON.stringify(line)}\n`);
