import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatNpy } from '../../core/trace/npy.js';
import { syntheticTrace } from '../../core/trace/synthetic.js';
import { runCli } from '../support/procs.js';

/** simulate end to end on small generated traces written as .npy files. */
let dir = '';
const small = ['--budgets', '400:1200:400', '--draws', '3'];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ttsnap-sim-'));
  for (const [name, seed] of [['alpha', 1], ['beta', 2]] as const) {
    const t = syntheticTrace({ prompts: 8, candidates: 40, steps: 20, seed });
    writeFileSync(join(dir, `${name}_base.npy`), formatNpy({ shape: [8, 40, 20], data: t.base }));
    if (name === 'alpha') writeFileSync(join(dir, `${name}_narf.npy`), formatNpy({ shape: [8, 40, 20], data: t.narf }));
  }
  writeFileSync(
    join(dir, 'tuned.json'),
    JSON.stringify({ format: 'ttsnap-schedule/1', steps: 20, schedule: [{ step: 4, alpha: 0.5 }], per_budget: [{ budget: 800, schedule: [] }] }),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface One {
  budgets: number[];
  curves: { bon: number[]; ttsnap: number[]; ttsp: number[] };
  relative_increase_pct: { ttsnap: number; ttsp: number };
  candidates: { bon: number[]; ttsnap: number[] };
}

describe('ttsnap simulate', () => {
  it('--synthetic --json prints one trace object in the issue\'s shape', async () => {
    const r = await runCli(['simulate', '--synthetic', '7', '--json', ...small]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as One;
    expect(Object.keys(out)).toEqual(['budgets', 'curves', 'relative_increase_pct', 'candidates']);
    expect(out.budgets).toEqual([400, 800, 1200]);
    expect(Object.keys(out.curves)).toEqual(['bon', 'ttsnap', 'ttsp']);
    expect(out.candidates).toEqual({ bon: [2, 4, 6], ttsnap: [6, 12, 19] });
    expect(Number.isFinite(out.relative_increase_pct.ttsnap)).toBe(true);
  });

  it('--trace-dir pairs <name>_base with <name>_narf when present and keys results by name', async () => {
    const r = await runCli(['simulate', '--trace-dir', dir, '--json', ...small]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { traces: Record<string, One> };
    expect(Object.keys(out.traces)).toEqual(['alpha', 'beta']);
    // beta has no narf file: TTSnap is TTSp
    expect(out.traces.beta?.curves.ttsnap).toEqual(out.traces.beta?.curves.ttsp);
    expect(out.traces.alpha?.curves.ttsnap).not.toEqual(out.traces.alpha?.curves.ttsp);
    // the same as --base/--narf on its own, whatever the thread count
    const alone = await runCli(['simulate', '--base', join(dir, 'alpha_base.npy'), '--narf', join(dir, 'alpha_narf.npy'), '--json', '--threads', '1', ...small]);
    expect(JSON.parse(alone.stdout)).toEqual(out.traces.alpha);
  });

  it('--schedule-file runs its schedule and its per-budget entries', async () => {
    const args = ['simulate', '--base', join(dir, 'alpha_base.npy'), '--narf', join(dir, 'alpha_narf.npy'), '--json', ...small];
    const [file, plain] = await Promise.all([runCli([...args, '--schedule-file', join(dir, 'tuned.json')]), runCli([...args, '--schedule', '4:0.5'])]);
    const f = JSON.parse(file.stdout) as One;
    const p = JSON.parse(plain.stdout) as One;
    expect(f.curves.ttsnap[0]).toBe(p.curves.ttsnap[0]);
    expect(f.curves.ttsnap[2]).toBe(p.curves.ttsnap[2]);
    // at 800 the file says: no pruning, i.e. best-of-N
    expect(f.candidates.ttsnap[1]).toBe(4);
    expect(f.curves.ttsnap[1]).toBe(f.curves.bon[1]);
    const both = await runCli([...args, '--schedule-file', join(dir, 'tuned.json'), '--schedule', '4:0.5']);
    expect([both.code, both.stderr.trim()]).toEqual([2, 'ttsnap: --schedule-file: given with --schedule; allowed: one of --schedule or --schedule-file']);
  });

  it('prints a table, the metric and a chart without --json, and --plot writes the chart as SVG and PNG', async () => {
    const png = join(dir, 'plot.png');
    const svgFile = join(dir, 'plot.svg');
    const r = await runCli(['simulate', '--trace-dir', dir, ...small, '--plot', png]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('alpha: 8 prompts x 40 candidates x 20 steps; exact accounting; schedule 2:0.4,6:0.4,11:0.5; 3 draws');
    expect(r.stdout).toMatch(/\nbudget +N bon +N ttsnap +best-of-N +TTSnap +TTSp\n/);
    expect(r.stdout).toMatch(/\n +800 +4 +12 +-?\d/);
    expect(r.stdout).toMatch(/relative increase over best-of-N: TTSnap [+-]\d+\.\d\d%, TTSp [+-]\d+\.\d\d%/);
    expect(r.stdout).toContain('. best-of-N   o TTSp   # TTSnap');
    expect(r.stdout).toContain(`chart written to ${svgFile}, ${png}`);
    const svg = readFileSync(svgFile, 'utf8');
    // one panel per trace, three policies in the legend, in each panel a band (area) and a line per policy
    for (const label of ['alpha', 'beta', 'best-of-N', 'TTSp', 'TTSnap', 'budget per prompt (TFLOPs)', 'mean best reward']) expect(svg).toContain(`>${label}<`);
    expect(svg.match(/class="mark-area role-mark/g)).toHaveLength(2 * 3);
    expect(svg.match(/class="mark-line role-mark/g)).toHaveLength(2 * 3);
    const [w, h] = [/width="(\d+(?:\.\d+)?)"/.exec(svg)?.[1], /height="(\d+(?:\.\d+)?)"/.exec(svg)?.[1]].map(Number);
    const image = PNG.sync.read(readFileSync(png));
    expect([image.width, image.height]).toEqual([Math.round(2 * (w as number)), Math.round(2 * (h as number))]); // drawn at 2x
  });
});
