import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../../core/trace/npy.js';
import { syntheticTrace } from '../../core/trace/synthetic.js';
import { runCli } from '../support/procs.js';

// Bad input exits 2 with one line naming the flag; the trace is generated (--synthetic), so no data is needed.
const bad: [string, string[], RegExp][] = [
  ['inverted training range', ['--prompts-train', '70:0'], /--prompts-train: 70:0 is empty or inverted; allowed: start:end with start < end/],
  ['inverted validation range', ['--prompts-val', '100:70'], /--prompts-val: 100:70 is empty or inverted/],
  ['overlapping ranges', ['--prompts-train', '0:80', '--prompts-val', '70:100'], /--prompts-val: 70:100 overlaps --prompts-train 0:80; allowed: a range disjoint/],
  ['a range beyond the trace', ['--prompts-val', '70:101'], /--prompts-val: 70:101 does not fit synthetic-0; allowed: start:end with 0 <= start < end <= 100/],
  ['--max-stages 0', ['--max-stages', '0'], /--max-stages: got '0'; allowed: an integer in \[1, 8\]/],
  ['--max-stages 9', ['--max-stages', '9'], /--max-stages: got '9'; allowed: an integer in \[1, 8\]/],
  ['--max-seconds 0', ['--max-seconds', '0'], /--max-seconds: got '0'; allowed: a number of seconds in \(0, 86400\]/],
  ['a budget below one candidate', ['--budgets', '100:400:100'], /--budgets: budget 100 is below the cost of one candidate; allowed: >= 199.2/],
  ['an unknown accounting', ['--accounting', 'fast'], /--accounting: got 'fast'; allowed: exact \| paper/],
  ['--threads 0', ['--threads', '0'], /--threads: got '0'; allowed: an integer in \[1, 256\]/],
  ['--max-passes 9', ['--max-passes', '9'], /--max-passes: got '9'; allowed: an integer in \[1, 8\]/],
];

describe.concurrent('ttsnap tune: bad input', () => {
  for (const [what, args, message] of bad) {
    it(`${what}: exit 2 naming the flag`, async () => {
      const r = await runCli(['tune', '--synthetic', '--max-seconds', '1', ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    });
  }

  it('an unknown flag: exit 2 naming it', async () => {
    const r = await runCli(['tune', '--synthetic', '--max-secs', '5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--max-secs'/);
  });

  it('no trace: exit 2 naming the choices', async () => {
    const r = await runCli(['tune']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/traces: none given; allowed: exactly one of --base FILE \[--narf FILE\], --trace-dir DIR, --synthetic/);
  });
});

describe('ttsnap tune --out', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ttsnap-tune-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a schedule file that simulate --schedule-file turns into the same validation figure', async () => {
    const out = join(dir, 'tuned.json');
    const common = ['--synthetic', '4', '--budgets', '400:1200:200', '--draws', '8'];
    const tuned = await runCli(['tune', ...common, '--max-seconds', '3', '--search-draws', '4', '--max-stages', '2', '--out', out, '--json']);
    expect(tuned.code).toBe(0);
    const result = JSON.parse(tuned.stdout) as { validation_relative_increase_pct: number; per_budget: { budget: number; n: number }[]; seconds: { total: number } };
    expect(result.per_budget.map((p) => p.budget)).toEqual([400, 600, 800, 1000, 1200]);
    expect(result.seconds.total).toBeLessThanOrEqual(3);
    const file = JSON.parse(readFileSync(out, 'utf8')) as { format: string; per_budget: unknown[] };
    expect(file.format).toBe('ttsnap-schedule/1');
    expect(file.per_budget).toHaveLength(5);
    const sim = await runCli(['simulate', ...common, '--schedule-file', out, '--prompts', '70:100', '--json']);
    expect(sim.code).toBe(0);
    const simResult = JSON.parse(sim.stdout) as { relative_increase_pct: { ttsnap: number }; candidates: { ttsnap: number[] } };
    expect(simResult.relative_increase_pct.ttsnap).toBe(result.validation_relative_increase_pct);
    expect(simResult.candidates.ttsnap).toEqual(result.per_budget.map((p) => p.n));
  });
});

describe('ttsnap tune --trace-dir', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ttsnap-tune-dir-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const traces = join(dir, 'traces');
  mkdirSync(traces);
  for (const name of ['a', 'b', 'c']) {
    const t = syntheticTrace({ prompts: 20, candidates: 24, steps: 6, seed: name.charCodeAt(0) });
    const shape = [t.prompts, t.candidates, t.steps];
    writeNpy(join(traces, `${name}_base.npy`), { shape, data: t.base });
    writeNpy(join(traces, `${name}_narf.npy`), { shape, data: t.narf });
  }
  const small = ['--budgets', '130:330:50', '--prompts-train', '0:14', '--prompts-val', '14:20', '--draws', '4', '--search-draws', '3'];

  it('tunes every trace in the folder and writes OUT/<name>.json for each', async () => {
    const out = join(dir, 'out');
    const r = await runCli(['tune', '--trace-dir', traces, '--out', out, '--json', '--max-seconds', '1', ...small]);
    expect(r.code).toBe(0);
    type TraceOut = { validation_relative_increase_pct: number; validation_se_pct: number; validation_ci95_pct: [number, number]; validation: object };
    const json = JSON.parse(r.stdout) as { traces: Record<string, TraceOut>; mean_validation_pct: number; mean_validation_se_pct: number; min_validation_pct: number };
    expect(Object.keys(json.traces)).toEqual(['a', 'b', 'c']);
    const figures = Object.values(json.traces).map((t) => t.validation_relative_increase_pct);
    expect(json.mean_validation_pct).toBeCloseTo((figures[0]! + figures[1]! + figures[2]!) / 3, 12);
    expect(json.min_validation_pct).toBe(Math.min(...figures));
    // error bars over resampled validation prompts; the mean's is at most the mean of the traces' (a norm's triangle inequality)
    const ses = Object.values(json.traces).map((t) => t.validation_se_pct);
    expect(ses.every((se) => se > 0)).toBe(true);
    expect(json.mean_validation_se_pct).toBeGreaterThan(0);
    expect(json.mean_validation_se_pct).toBeLessThanOrEqual((ses[0]! + ses[1]! + ses[2]!) / 3 + 1e-9);
    for (const t of Object.values(json.traces)) {
      expect(t.validation_ci95_pct[0]).toBeLessThan(t.validation_ci95_pct[1]);
      expect(t.validation).not.toHaveProperty('prompt_means'); // the bars summarise them
    }
    expect(['a', 'b', 'c'].every((n) => existsSync(join(out, `${n}.json`)))).toBe(true);
    expect(r.stderr).toMatch(/tune a: validation .*wrote .*a\.json/);
  });

  it('tunes traces on worker threads to the same schedules as one after the other (--max-passes makes runs repeatable)', async () => {
    const args = ['tune', '--trace-dir', traces, '--json', '--max-seconds', '600', '--max-passes', '2', ...small];
    const [one, two] = await Promise.all([runCli([...args, '--threads', '1']), runCli([...args, '--threads', '2'])]);
    expect([one.code, two.code]).toEqual([0, 0]);
    type Out = { traces: Record<string, { per_budget: unknown[]; validation: unknown; evaluations: number }> };
    const strip = (stdout: string) => Object.values((JSON.parse(stdout) as Out).traces).map(({ per_budget, validation, evaluations }) => ({ per_budget, validation, evaluations }));
    expect(strip(two.stdout)).toEqual(strip(one.stdout));
    expect(strip(one.stdout)).toHaveLength(3);
    // not vacuous: the search chose pruning plans somewhere
    expect(strip(one.stdout).some((t) => (t.per_budget as { plan: string }[]).some((b) => b.plan !== 'bon'))).toBe(true);
  });

  it('an --out it cannot write: exit 2 naming the file', async () => {
    const out = join(dir, 'missing', 'x.json');
    const r = await runCli(['tune', '--synthetic', '--max-seconds', '0.5', '--budgets', '400:800:200', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${out}: cannot write the schedule file (ENOENT)`);
  });
});
