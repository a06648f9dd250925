import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RankAgreement } from '../../core/narf/rank-agreement.js';
import { writePublishedTree } from '../support/published-values.js';
import { runCli } from '../support/procs.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ttsnap-narf-cli-'));
  writePublishedTree(join(dir, 'values'), 'toy_pic', [0, 1, 2, 3], 6, 5, [1, 2]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ttsnap traces import, then narf eval on what it wrote', () => {
  it('imports the published layout, and narf eval reads its meta.json for the variant steps', async () => {
    const out = join(dir, 'traces');
    const imp = await runCli(['traces', 'import', join(dir, 'values'), '--out', out]);
    expect(imp.code).toBe(0);
    expect(imp.stderr).toBe('traces import: toy_pic [4, 6, 5], noise-aware at steps 1,2\n');
    expect(['toy_pic_base.npy', 'toy_pic_narf.npy', 'meta.json'].every((f) => existsSync(join(out, f)))).toBe(true);
    const ev = await runCli(['narf', 'eval', '--trace-dir', out, '--json', '--resamples', '50']);
    expect(ev.stderr).toBe('');
    const r = JSON.parse(ev.stdout) as RankAgreement;
    expect([r.trace, r.prompts, r.candidates]).toEqual(['toy_pic', 4, 6]);
    expect(r.steps.map((s) => [s.step, s.variant])).toEqual([[0, false], [1, true], [2, true], [3, false]]);
    // every step of the tree keeps the candidates' order (value grows with the candidate index)
    for (const s of r.steps) expect([s.kendall.base.mean, s.kendall.narf.mean, s.spearman.base.mean]).toEqual([1, 1, 1]);
    const table = await runCli(['narf', 'eval', '--trace-dir', out, '--resamples', '50']);
    expect(table.stdout).toMatch(/^toy_pic: rank agreement .* 4 prompts of 6 candidates/);
    expect(table.stdout).toMatch(/\n {3}1 +1\.000 \[1\.000, 1\.000\] +1\.000 \[1\.000, 1\.000\]/);
  });

  it('bad input: exit 2 with one line naming the field', async () => {
    const none = await runCli(['traces', 'import', join(dir, 'nothing')]);
    expect([none.code, none.stderr]).toEqual([2, expect.stringMatching(/^ttsnap: .*nothing: cannot read the folder \(ENOENT\)\n$/)]);
    const empty = await runCli(['traces', 'import', dir, '--out', join(dir, 'x')]);
    expect([empty.code, empty.stderr]).toEqual([2, expect.stringMatching(/^ttsnap: DIR: .* holds no <model>_<reward>_val_base folder; allowed: /)]);
    const range = await runCli(['traces', 'import', join(dir, 'values'), '--out', join(dir, 'y'), '--prompts', '2:9']);
    expect([range.code, range.stderr]).toEqual([2, expect.stringMatching(/^ttsnap: --prompts: 2:9 reaches past the 4 prompts of toy_pic/)]);
    const resamples = await runCli(['narf', 'eval', '--synthetic', '--resamples', '1']);
    expect([resamples.code, resamples.stderr]).toEqual([2, "ttsnap: --resamples: got '1'; allowed: an integer in [2, 1000000]\n"]);
  });
});
