import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BadFileError, ValidationError } from '../../../core/errors.js';
import { importPublishedValues } from '../../../core/trace/import-values.js';
import { readNpy } from '../../../core/trace/npy.js';
import { loadRewardTrace } from '../../../core/trace/reward-trace.js';
import { readTraceMeta } from '../../../core/trace/trace-meta.js';
import { publishedValue as v, writePublishedTree as writeTree } from '../../support/published-values.js';
import { PAPER_TRACES } from '../../support/traces.js';

describe('traces import (published per-step YAML -> .npy)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ttsnap-import-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes [P, I, S] base and narf traces, narf = base where no naft step exists, and meta.json narf_steps', () => {
    // keys out of numeric order and with a gap: prompts are sorted numerically
    writeTree(join(dir, 'values'), 'toy_pic', [10, 2, 3], 4, 5, [1, 2]);
    writeTree(join(dir, 'values'), 'toy_hps', [0, 1], 2, 3, []);
    const out = join(dir, 'out');
    const got = importPublishedValues(join(dir, 'values'), out);
    expect(got).toEqual([
      { name: 'toy_hps', shape: [2, 2, 3], narfSteps: [] },
      { name: 'toy_pic', shape: [3, 4, 5], narfSteps: [1, 2] },
    ]);
    const t = loadRewardTrace(join(out, 'toy_pic_base.npy'), join(out, 'toy_pic_narf.npy'));
    expect([t.prompts, t.candidates, t.steps]).toEqual([3, 4, 5]);
    const keys = [2, 3, 10];
    for (let p = 0; p < 3; p++) {
      for (let i = 0; i < 4; i++) {
        for (let s = 0; s < 5; s++) {
          const at = (p * 4 + i) * 5 + s;
          expect(t.base[at]).toBe(Math.fround(v(keys[p] as number, i, s)));
          expect(t.narf[at]).toBe(Math.fround(v(keys[p] as number, i, s) + (s === 1 || s === 2 ? 0.5 : 0)));
        }
      }
    }
    expect(readTraceMeta(out)).toEqual({ toy_hps: { narf_steps: [] }, toy_pic: { narf_steps: [1, 2] } });
  });

  it('--prompts takes a range of the sorted prompts', () => {
    writeTree(dir, 'toy_pic', [0, 1, 2, 3], 2, 3, [0]);
    const [t] = importPublishedValues(dir, join(dir, 'out'), { prompts: [1, 3] });
    expect(t?.shape).toEqual([2, 2, 3]);
    const base = readNpy(join(dir, 'out', 'toy_pic_base.npy'));
    expect(base.data[0]).toBe(Math.fround(v(1, 0, 0)));
    expect(() => importPublishedValues(dir, join(dir, 'out'), { prompts: [2, 9] })).toThrow(ValidationError);
  });

  it('refuses a missing step, a short candidate list and a folder without values, naming the file', () => {
    expect(() => importPublishedValues(dir, join(dir, 'out'))).toThrow(/no <model>_<reward>_val_base folder/);
    writeTree(dir, 'gap_pic', [0], 2, 3, []);
    rmSync(join(dir, 'gap_pic_val_base', 'p1_i2_s01.yaml'));
    expect(() => importPublishedValues(dir, join(dir, 'out'))).toThrow(/step 1 is missing/);
    rmSync(join(dir, 'gap_pic_val_base'), { recursive: true });
    writeTree(dir, 'short_pic', [0, 1], 3, 2, []);
    writeFileSync(join(dir, 'short_pic_val_base', 'p2_i3_s01.yaml'), '0: [1, 2, 3]\n1: [1, 2]\n');
    expect(() => importPublishedValues(dir, join(dir, 'out'))).toThrow(BadFileError);
    expect(() => importPublishedValues(dir, join(dir, 'out'))).toThrow(/step 1, prompt 1: 2 values; expected 3/);
  });
});

/**
 * Against the shipped .npy: only where ../shared/traces also holds the raw published layout (values/). The
 * shipped files hold the first 100 prompts.
 */
const RAW = join(PAPER_TRACES, 'values');
describe.skipIf(!existsSync(RAW))(`traces import against the shipped .npy${existsSync(RAW) ? '' : ' (skipped: needs the raw published values in ../shared/traces/values)'}`, () => {
  it('flux_pic imports to the shipped values and narf steps', () => {
    const out = mkdtempSync(join(tmpdir(), 'ttsnap-import-real-'));
    try {
      importPublishedValues(RAW, out, { prompts: [0, 100] });
      for (const variant of ['base', 'narf']) {
        expect(readFileSync(join(out, `flux_pic_${variant}.npy`)).equals(readFileSync(join(PAPER_TRACES, `flux_pic_${variant}.npy`)))).toBe(true);
      }
      expect(readTraceMeta(out).flux_pic).toEqual(readTraceMeta(PAPER_TRACES).flux_pic);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
