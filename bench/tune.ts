import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm run bench:tune`: the goal run. `tune --trace-dir ../shared/traces --max-seconds 60` with
 * exact accounting, training prompts 0:70 and validation prompts 70:100 (never read by the search), as a
 * child process; prints one JSON line with each trace's validation figure and its bootstrap standard error
 * over the validation prompts, their mean (with its error and 95% interval) and minimum, and the wall time
 * per trace. Goal: mean >= 22 %, min >= 5 %.
 * Env: TTSNAP_TRACES (folder), BENCH_SECONDS (default 60), BENCH_ARGS (extra flags).
 */
const traces = process.env.TTSNAP_TRACES ?? fileURLToPath(new URL('../../../shared/traces', import.meta.url));
const seconds = process.env.BENCH_SECONDS ?? '60';
const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'ttsnap-bench-tune-'));
const args = [
  cli, 'tune', '--trace-dir', traces, '--accounting', 'exact', '--prompts-train', '0:70', '--prompts-val', '70:100',
  '--max-seconds', seconds, '--out', out, '--json', ...(process.env.BENCH_ARGS?.split(' ').filter(Boolean) ?? []),
];

interface TraceSummary {
  validation_relative_increase_pct: number;
  validation_se_pct: number;
  train_relative_increase_pct: number | null;
  evaluations: number;
  seconds: { search: number; total: number };
}

const t0 = process.hrtime.bigint();
// stderr (progress) passes through so that a long run shows where it is.
const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 * 1024 * 1024 });
const wall = Number(process.hrtime.bigint() - t0) / 1e9;
rmSync(out, { recursive: true, force: true });
if (r.status !== 0) process.exit(r.status ?? 1);
const result = JSON.parse(r.stdout) as {
  traces: Record<string, TraceSummary>;
  mean_validation_pct: number;
  mean_validation_se_pct: number;
  mean_validation_ci95_pct: [number, number];
  min_validation_pct: number;
};
const round = (x: number | null): number | null => (x === null ? null : Number(x.toFixed(2)));
const line = {
  bench: 'tune',
  command: `node dist/cli/main.js ${args.slice(1).join(' ')}`,
  validation_relative_increase_pct: Object.fromEntries(Object.entries(result.traces).map(([k, v]) => [k, round(v.validation_relative_increase_pct)])),
  train_relative_increase_pct: Object.fromEntries(Object.entries(result.traces).map(([k, v]) => [k, round(v.train_relative_increase_pct)])),
  // Bootstrap over the 30 validation prompts (the same resamples in every trace): how much of each figure
  // is which prompts happen to be scored.
  validation_se_pct: Object.fromEntries(Object.entries(result.traces).map(([k, v]) => [k, round(v.validation_se_pct)])),
  mean_validation_pct: round(result.mean_validation_pct),
  mean_validation_se_pct: round(result.mean_validation_se_pct),
  mean_validation_ci95_pct: result.mean_validation_ci95_pct.map(round),
  min_validation_pct: round(result.min_validation_pct),
  goal: { mean: 22, min: 5 },
  seconds_per_trace: Object.fromEntries(Object.entries(result.traces).map(([k, v]) => [k, Number(v.seconds.total.toFixed(1))])),
  evaluations: Object.fromEntries(Object.entries(result.traces).map(([k, v]) => [k, v.evaluations])),
  wall_s: Number(wall.toFixed(1)),
};
process.stdout.write(`${JSON.stringify(line)}\n`);
