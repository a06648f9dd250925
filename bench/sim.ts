import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm run bench:sim`: wall time of the whole `simulate --trace-dir ../shared/traces --json` command
 * (default grid: 6 traces x 19 budgets x 50 draws x 100 prompts x 3 policies, one accounting), run as a
 * child process RUNS times, against the authors' numpy simulator's 3.7 s on this machine.
 * Prints one JSON line: median wall seconds, the speed-up over 3.7 s, and the command's CPU seconds (all
 * threads) with the load average, since wall time on a shared machine depends on what else runs.
 * Env: TTSNAP_TRACES (folder), BENCH_RUNS (default 5), BENCH_ARGS (extra flags).
 */
const BASELINE_S = 3.7;
const traces = process.env.TTSNAP_TRACES ?? fileURLToPath(new URL('../../../shared/traces', import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 5);
const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const args = [cli, 'simulate', '--trace-dir', traces, '--json', ...(process.env.BENCH_ARGS?.split(' ').filter(Boolean) ?? [])];

const probe = fileURLToPath(new URL('./cpu-probe.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ttsnap-bench-'));
const cpuFile = join(dir, 'cpu.json');
const load = loadavg()[0] as number;
const walls: number[] = [];
const cpus: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--import', probe, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, TTSNAP_BENCH_CPU_FILE: cpuFile },
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    process.exit(1);
  }
  walls.push(wall);
  const cpu = JSON.parse(readFileSync(cpuFile, 'utf8')) as { user_s: number; system_s: number };
  cpus.push(cpu.user_s + cpu.system_s);
}
rmSync(dir, { recursive: true, force: true });
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const sorted = [...walls].sort((a, b) => a - b);
const line = {
  bench: 'sim',
  command: `node dist/cli/main.js ${args.slice(1).join(' ')}`,
  runs,
  median_wall_s: Number(median(walls).toFixed(3)),
  min_wall_s: Number((sorted[0] as number).toFixed(3)),
  walls_s: walls.map((w) => Number(w.toFixed(3))),
  baseline_s: BASELINE_S,
  speedup_vs_baseline: Number((BASELINE_S / median(walls)).toFixed(2)),
  goal_speedup: 3,
  median_cpu_s: Number(median(cpus).toFixed(3)),
  load_avg_1m_at_start: Number(load.toFixed(2)),
  cores: availableParallelism(),
};
process.stdout.write(`${JSON.stringify(line)}\n`);
