import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, visitFile } from './chromium.js';
import { writeSyntheticPair } from './trace-pair.js';

/**
 * `npm run bench:report`: the size of report.html for a PROMPTS-prompt job (default 1,000 prompts x 40
 * candidates, an embedded search on the trace backend over a generated trace, 3 prune points) and how long
 * headless Chromium takes to open it, from navigation start to the end of the load event (the page's own
 * Navigation Timing; browser start excluded), RUNS times in fresh browser contexts (no cache).
 * Goals: under 5 MB and under 2 s. Prints one JSON line.
 * Env: BENCH_PROMPTS (default 1000), BENCH_CANDIDATES (default 40), BENCH_RUNS (default 7).
 */
const prompts = Number(process.env.BENCH_PROMPTS ?? 1000);
const candidates = Number(process.env.BENCH_CANDIDATES ?? 40);
const runs = Number(process.env.BENCH_RUNS ?? 7);
const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'ttsnap-bench-report-'));
try {
  const { base, narf } = writeSyntheticPair(dir, prompts, Math.max(candidates, 64));
  const out = join(dir, 'out');
  const args = ['search', '--prompts', `0:${prompts}`, '--base', base, '--narf', narf, '--candidates', String(candidates), '--out', out, '--quiet', '--json'];
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    process.exit(1);
  }
  const file = join(out, 'report.html');
  const bytes = statSync(file).size;
  const load = loadavg()[0] as number;
  const browser = await launchChromium();
  const loads: number[] = [];
  const errors: string[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const v = await visitFile(browser, file);
      loads.push(v.loadMs);
      errors.push(...v.errors);
      await v.page.context().close();
    }
  } finally {
    await browser.close();
  }
  const sorted = [...loads].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  const line = {
    bench: 'report',
    job: `${prompts} prompts x ${candidates} candidates (trace backend, schedule 2:0.4,6:0.4,11:0.5)`,
    report_bytes: bytes,
    report_mb: Number((bytes / 1e6).toFixed(2)),
    goal_mb: 5,
    runs,
    median_load_ms: Number(median.toFixed(0)),
    min_load_ms: Number((sorted[0] as number).toFixed(0)),
    max_load_ms: Number((sorted[sorted.length - 1] as number).toFixed(0)),
    loads_ms: loads.map((x) => Number(x.toFixed(0))),
    goal_load_ms: 2000,
    console_errors: errors.length,
    load_avg_1m_at_start: Number(load.toFixed(2)),
    cores: availableParallelism(),
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
