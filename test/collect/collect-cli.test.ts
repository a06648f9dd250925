import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawCandidates } from '../../coordinator/candidates.js';
import { readNpy } from '../../core/trace/npy.js';
import { loadRewardTrace, traceOffset } from '../../core/trace/reward-trace.js';
import { readTraceMeta } from '../../core/trace/trace-meta.js';
import { runCli } from '../support/procs.js';
import { runtimeTraceDir } from '../support/traces.js';

let dir = '';
const PROMPTS = ['a red circle', 'a blue square above a green triangle'];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ttsnap-collect-'));
  writeFileSync(join(dir, 'prompts.txt'), `${PROMPTS.join('\n')}\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface SearchJson {
  prompts: { prompt: number; winner: { candidate: number; rewards: Record<string, number> }; explored: number[] }[];
}

describe('ttsnap collect on the tiny bundle', () => {
  // One collection (2 prompts x 4 seeds, Tweedie images at steps 2 and 19) that the checks below read; each
  // check starts at most two CLI processes, so each stays within the test timeout on a loaded machine.
  const out = (): string => join(dir, 'tiny');
  const args = (): string[] => ['collect', '--prompts-file', join(dir, 'prompts.txt'), '--seeds', '4', '--seed', '7', '--out', out(), '--save-tweedie', '2,19', '--json'];
  let first = '';
  beforeAll(async () => {
    const c = await runCli(args());
    expect(c.code, c.stderr).toBe(0);
    first = c.stdout;
  });

  it('writes [P, I, S] traces, narf = base away from the variant steps, Tweedie images and meta.json', () => {
    const summary = JSON.parse(first) as { prompts: number; skipped: number; candidates: number; ledger: { denoise_steps: number; reward_calls: Record<string, number> } };
    // 2 prompts x 4 candidates x 20 steps; align and quality at every step, plus their variants at 2, 6, 11
    expect(summary).toMatchObject({ prompts: 2, skipped: 0, candidates: 8, ledger: { denoise_steps: 160, reward_calls: { align: 8 * 23, quality: 8 * 23 } } });
    const align = readNpy(join(out(), 'align_base.npy'));
    const alignNarf = readNpy(join(out(), 'align_narf.npy'));
    expect(align.shape).toEqual([2, 4, 20]);
    expect(readNpy(join(out(), 'tweedie', 'p00001.npy')).shape).toEqual([4, 2, 3 * 32 * 32]);
    expect(readTraceMeta(out()).align).toMatchObject({ narf_steps: [2, 6, 11], prompts: PROMPTS, prompt_ids: [0, 1], candidates: 4, seed: 7, bundle: { name: 'tiny-shapes' } });
    for (let i = 0; i < align.data.length; i++) if (![2, 6, 11].includes(i % 20)) expect(alignNarf.data[i]).toBe(align.data[i]);
    expect([2, 6, 11].every((s) => alignNarf.data[s] !== align.data[s])).toBe(true);
  });

  it('the collected final base reward is what `search --policy bon` reports for the same seed', async () => {
    const align = readNpy(join(out(), 'align_base.npy'));
    const search = await runCli(['search', ...PROMPTS, '--policy', 'bon', '--candidates', '4', '--seed', '7', '--json', '--out', join(dir, 'search')]);
    expect(search.code, search.stderr).toBe(0);
    const doc = JSON.parse(search.stdout) as SearchJson;
    doc.prompts.forEach((p, position) => {
      expect(p.explored).toEqual([0, 1, 2, 3]);
      const finals = [0, 1, 2, 3].map((i) => align.data[(position * 4 + i) * 20 + 19] as number);
      expect(Math.fround(p.winner.rewards.align as number)).toBe(Math.max(...finals));
      expect(finals.indexOf(Math.max(...finals))).toBe(p.winner.candidate);
    });
  });

  it('a rerun of the same command resumes (every prompt skipped, same files); other settings in the folder are refused', async () => {
    const before = readFileSync(join(out(), 'align_base.npy'));
    const again = await runCli(args());
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ prompts: 2, skipped: 2, candidates: 0 });
    expect(readFileSync(join(out(), 'align_base.npy')).equals(before)).toBe(true);
    const other = await runCli(['collect', '--prompts-file', join(dir, 'prompts.txt'), '--seeds', '5', '--seed', '7', '--out', out()]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/^ttsnap: --out: .* holds a collection with other settings \(candidates, saveTweedie differ\); allowed: /m);
  });
});

describe('ttsnap collect on the trace backend', () => {
  it('records value[p, column, s] of the candidates search draws, narf at the declared steps', async () => {
    const traces = runtimeTraceDir();
    const out = join(dir, 'trace');
    const c = await runCli(['collect', '--backend', 'trace', '--base', join(traces, 'flux_pic_base.npy'), '--narf', join(traces, 'flux_pic_narf.npy'), '--prompts', '3:5', '--seeds', '6', '--seed', '11', '--out', out, '--json']);
    expect(c.code, c.stderr).toBe(0);
    const t = loadRewardTrace(join(traces, 'flux_pic_base.npy'), join(traces, 'flux_pic_narf.npy'));
    const got = loadRewardTrace(join(out, 'pic_base.npy'), join(out, 'pic_narf.npy'));
    expect([got.prompts, got.candidates, got.steps]).toEqual([2, 6, 20]);
    const narfSteps = readTraceMeta(out).pic?.narf_steps ?? [];
    expect(narfSteps.length).toBeGreaterThan(0);
    for (const [position, row] of [3, 4].entries()) {
      const columns = drawCandidates(t.candidates, 6, 11, row);
      columns.forEach((col, i) => {
        for (let s = 0; s < 20; s++) {
          const src = narfSteps.includes(s) ? t.narf : t.base;
          expect(got.base[traceOffset(got, position, i) + s]).toBe(t.base[traceOffset(t, row, col) + s]);
          expect(got.narf[traceOffset(got, position, i) + s]).toBe(src[traceOffset(t, row, col) + s]);
        }
      });
    }
    expect(existsSync(join(out, 'tweedie'))).toBe(false);
  });
});
