import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { copyFixture, FIXTURES, LAYOUTS } from './fixture-helpers.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');
const ttsnap = (...args: string[]): Promise<{ stdout: string; stderr: string }> => run(process.execPath, [CLI, ...args]);
const failure = (p: Promise<unknown>): Promise<{ code: number; stderr: string }> =>
  p.then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => e,
  );
const CLIP = join(FIXTURES, 'rewards', 'clip');

interface Result {
  prompts: { text: string; explored: number[]; winner: { candidate: number; rewards: Record<string, number> } }[];
  warnings?: string[];
}

describe.each(LAYOUTS)('%s from the exporter folder', (layout) => {
  it('models init, models check (no reward yet), add-reward, search --candidates 8 --json writes a winner', { timeout: 120_000 }, async () => {
    const fx = copyFixture(layout);
    try {
      const init = await ttsnap('models', 'init', fx.dir);
      expect(init.stdout).toContain(`layout ${layout.startsWith('flux') ? 'flux' : layout.startsWith('sdxl') ? 'sdxl' : layout.startsWith('sd3') ? 'sd3' : 'sd'},`);
      const check = await ttsnap('models', 'check', fx.dir);
      expect(check.stdout).toMatch(/^ok: /);
      expect(check.stdout).toContain(`rewards: none; search needs one: ttsnap models add-reward ${fx.dir} NAME REWARD_DIR`);
      await ttsnap('models', 'add-reward', fx.dir, 'pick', CLIP);
      const { stdout } = await ttsnap('search', '--model', fx.dir, 'a red circle', '--candidates', '8', '--json', '--provider', 'cpu', '--out', join(fx.dir, 'out'));
      const doc = JSON.parse(stdout) as Result;
      expect(doc.prompts[0]?.explored).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(doc.prompts[0]?.winner.candidate).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(doc.prompts[0]?.winner.rewards.pick)).toBe(true);
    } finally {
      fx.cleanup();
    }
  });
});

describe('reward contract and noise-aware variants at the CLI (sd-turbo fixture)', () => {
  it('a reward whose output is not one score per image is refused naming the output, and the bundle is left as it was', { timeout: 60_000 }, async () => {
    const fx = copyFixture('sd-turbo');
    try {
      await ttsnap('models', 'init', fx.dir);
      const before = readFileSync(join(fx.dir, 'ttsnap.json'), 'utf8');
      const err = await failure(ttsnap('models', 'add-reward', fx.dir, 'bad', join(FIXTURES, 'rewards', 'wrong-shape')));
      expect(err.code).toBe(2);
      expect(err.stderr.trim().split('\n').pop()).toBe(`ttsnap: ${join(fx.dir, 'rewards', 'bad', 'model.onnx')}: the reward model 'bad' output score has shape [batch_size, 3]; expected [batch] or [batch, 1] (score: value)`);
      expect(readFileSync(join(fx.dir, 'ttsnap.json'), 'utf8')).toBe(before);
      // a CLIP export's [B, B] logits_per_image declared as one value per image
      await ttsnap('models', 'add-reward', fx.dir, 'pick', CLIP);
      const m = JSON.parse(readFileSync(join(fx.dir, 'ttsnap.json'), 'utf8')) as { rewards: Record<string, { score: string }> };
      (m.rewards.pick as { score: string }).score = 'value';
      writeFileSync(join(fx.dir, 'ttsnap.json'), JSON.stringify(m));
      const clip = await failure(ttsnap('models', 'check', fx.dir));
      expect(clip.code).toBe(2);
      expect(clip.stderr.trim().split('\n').pop()).toBe(
        `ttsnap: ${join(fx.dir, 'rewards', 'pick', 'model.onnx')}: the reward model 'pick' output logits_per_image has shape [image_batch_size, text_batch_size]; expected [batch] or [batch, 1] (score: value) (a [B, B] image-text similarity needs score: diagonal)`,
      );
    } finally {
      fx.cleanup();
    }
  });

  it('a prune point without a variant: refused (exit 2) by default; with --missing-variant base, warned and recorded in the report', { timeout: 60_000 }, async () => {
    const fx = copyFixture('sd-turbo');
    try {
      await ttsnap('models', 'init', fx.dir);
      await ttsnap('models', 'add-reward', fx.dir, 'pick', CLIP);
      const args = ['search', '--model', fx.dir, 'a red circle', '--candidates', '4', '--schedule', '1:0.5', '--json', '--provider', 'cpu', '--out', join(fx.dir, 'out')];
      const err = await failure(ttsnap(...args));
      expect(err.code).toBe(2);
      expect(err.stderr.trim().split('\n').pop()).toBe(
        'ttsnap: --schedule: reward pick has no noise-aware variant at prune step 1; allowed: prune points at steps with a variant, --policy ttsp, or --missing-variant base (scores there with the base reward, recorded as a warning)',
      );
      const { stdout, stderr } = await ttsnap(...args, '--missing-variant', 'base');
      const warning = 'reward pick has no noise-aware variant at prune step 1: scored with the base reward (--missing-variant base)';
      expect((JSON.parse(stdout) as Result).warnings).toEqual([warning]);
      expect((JSON.parse(readFileSync(join(fx.dir, 'out', 'report.json'), 'utf8')) as Result).warnings).toEqual([warning]);
      expect(stderr).toContain('onnx: warning: reward pick has no noise-aware variant at step 1; scored with the base reward (--missing-variant base)');
    } finally {
      fx.cleanup();
    }
  });
});
