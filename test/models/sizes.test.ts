// Per-candidate image sizes on fixtures whose exports have dynamic spatial dims: what a worker reports it takes,
// the exact refusals, and a candidate at its own size staying a pure function of (seed, settings) when it shares
// denoise, decode and reward calls with candidates of other sizes, and after moving. The PyTorch reference at
// the second size is checked in fixtures-reference.test.ts.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { decodePng } from '../../core/image/png.js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxBackend } from '../../worker/backends/onnx.js';
import type { CandidateSpec, PreviewSink } from '../../worker/backend.js';
import { InferenceHost } from '../../worker/onnx/host.js';
import { OnnxPipeline } from '../../worker/onnx/pipeline.js';
import { initManifest, writeManifest } from '../../worker/onnx/init.js';
import { addReward } from '../../worker/onnx/reward-folder.js';
import { decodeState } from '../../worker/onnx/state.js';
import { copyFixture, FIXTURES } from './fixture-helpers.js';

const PROMPT = 'a red circle';
const CLIP = [{ name: 'clip', noiseAware: false }];

/** A private copy of a layout fixture, initialised as `models init` does, with the fixture clip reward. */
function prepared(name: string): { dir: string; cleanup: () => void } {
  const fx = copyFixture(name);
  const m = initManifest(fx.dir).manifest;
  writeManifest(fx.dir, addReward(fx.dir, m, 'clip', join(FIXTURES, 'rewards', 'clip'), {}).manifest);
  return fx;
}

interface Preview {
  readonly image: Float32Array;
  readonly height: number;
  readonly width: number;
}

async function backendOn(dir: string, scoreThread: boolean, previews?: Map<string, Preview>): Promise<OnnxBackend> {
  const sink: PreviewSink | undefined = previews && { add: (key, _step, image, height, width) => void previews.set(key, { image, height, width }) };
  return new OnnxBackend(await InferenceHost.start({ bundle: dir, provider: 'cpu', threads: 1, maxBatch: 8, scoreThread }, () => undefined), sink);
}

const sized = (key: string, seed: number, width = 0, height = 0): CandidateSpec => ({ key, prompt: 0, text: PROMPT, candidate: 0, seed, sampling: { guidance: 0, steps: 0, negative_prompt: '', width, height } });

/** Each candidate's final latent, clean-image score and decoded image, all advanced, scored and decoded together. */
async function runTogether(b: OnnxBackend, cands: readonly CandidateSpec[]): Promise<{ latents: number[][]; scores: number[]; images: Float32Array }> {
  await b.create(cands);
  const keys = cands.map((c) => c.key);
  // the first one step ahead: a call mixes steps where the graph takes a [B] timestep
  await b.advance([{ key: keys[0] as string, toStep: 0 }]);
  for (let s = 1; s < b.info.steps; s++) await b.advance(keys.map((key) => ({ key, toStep: s })).filter((it) => it.toStep > (b.stepOf(it.key) as number)));
  const [scores] = await b.score(keys, CLIP);
  const images = await b.images(keys);
  const latents = await Promise.all(keys.map(async (k) => Array.from(decodeState(await b.exportState(k), b.info.model as string).latent)));
  b.release(keys);
  return { latents, scores: Array.from(scores as Float64Array), images };
}

describe.each([
  ['sd15', false, 8],
  ['flux-dev', true, 16],
] as const)('per-candidate sizes on the %s fixture (score thread: %s)', (name, scoreThread, step) => {
  let fx: { dir: string; cleanup: () => void };
  let b: OnnxBackend;
  const previews = new Map<string, Preview>();
  beforeAll(async () => {
    fx = prepared(name);
    b = await backendOn(fx.dir, scoreThread, previews);
  });
  afterAll(async () => {
    await b?.close();
    fx?.cleanup();
  });

  it('reports the sizes its exports take: multiples of the VAE factor (x2 for packed 2x2 patches) up to twice its own', () => {
    expect(b.info.sampling).toMatchObject({ width: 32, height: 32, size_step: step, min_size: step, max_size: 64 });
  });

  it('says whether guidance runs the denoiser twice (FLUX takes it as an input), which prices a step at another guidance', () => {
    expect(b.info.sampling?.guidance_doubles).toBe(name !== 'flux-dev');
  });

  it('a candidate at 32x48 ends the same alone, among candidates of other sizes, and after moving at step 1', { timeout: 120_000 }, async () => {
    const alone = await runTogether(b, [sized('alone', 7, 32, 48)]);
    expect(alone.latents[0]).toHaveLength((name === 'sd15' ? 4 : 16) * 6 * 4);
    expect(alone.images).toHaveLength(3 * 48 * 32);
    expect(previews.get('alone')).toMatchObject({ height: 48, width: 32 });
    // in one job with the bundle's size, the transposed size and the same seed at the bundle's size
    const mixed = await runTogether(b, [sized('y', 8), sized('x', 7, 32, 48), sized('z', 9, 48, 32), sized('w', 7)]);
    expect(mixed.latents[1]).toEqual(alone.latents[0]);
    expect(mixed.scores[1]).toBe(alone.scores[0]);
    const per = [32 * 32, 48 * 32, 32 * 48, 32 * 32].map((px) => 3 * px);
    expect(mixed.images).toHaveLength(per.reduce((a, n) => a + n, 0));
    expect(Array.from(mixed.images.subarray(per[0], (per[0] as number) + (per[1] as number)))).toEqual(Array.from(alone.images));
    expect(Array.from((previews.get('x') as Preview).image)).toEqual(Array.from(alone.images));
    expect(previews.get('z')).toMatchObject({ height: 32, width: 48 });
    expect(previews.get('w')).toMatchObject({ height: 32, width: 32 });
    expect(mixed.latents[3]).toHaveLength((mixed.latents[0] as number[]).length);
    // moved: the state carries its size; the importing worker resumes it at that size
    await b.create([sized('m', 7, 32, 48)]);
    await b.advance([{ key: 'm', toStep: 0 }]);
    await b.advance([{ key: 'm', toStep: 1 }]);
    const state = await b.exportState('m');
    b.release(['m']);
    expect(decodeState(state, b.info.model as string).sampling).toMatchObject({ width: 32, height: 48 });
    const other = await backendOn(fx.dir, !scoreThread);
    try {
      expect(await other.importState('m', state)).toBe(1);
      for (let s = 2; s < other.info.steps; s++) await other.advance([{ key: 'm', toStep: s }]);
      expect(Array.from(decodeState(await other.exportState('m'), other.info.model as string).latent)).toEqual(alone.latents[0]);
      const [moved] = await other.score(['m'], CLIP);
      expect((moved as Float64Array)[0]).toBe(alone.scores[0]);
      expect(Array.from(await other.images(['m']))).toEqual(Array.from(alone.images));
    } finally {
      await other.close();
    }
  });

  it('refuses a size off the step or out of range, naming the field and the allowed range, before creating anything', async () => {
    const off = step === 8 ? 36 : 40;
    await expect(b.create([sized('ok', 1), sized('bad', 2, off, 0)])).rejects.toThrow(`sampling.width: got ${off}; allowed: a multiple of ${step} in [${step}, 64] (0 = not set)`);
    await expect(b.create([sized('bad', 2, 0, 80)])).rejects.toThrow(`sampling.height: got 80; allowed: a multiple of ${step} in [${step}, 64] (0 = not set)`);
    expect(b.liveKeys()).toEqual([]);
  });
});

describe('the size step follows what the denoiser needs per side (its config.json)', () => {
  const sizesOf = async (dir: string): Promise<OnnxPipeline['sizes']> => {
    const p = await OnnxPipeline.load({ bundle: dir, provider: 'cpu', threads: 1, maxBatch: 8 }, () => undefined);
    try {
      return p.sizes;
    } finally {
      await p.close();
    }
  };

  it("SD3: the VAE factor times its patch_size (2); a UNet with 4 blocks: times 2^3, its skip connections' multiple", { timeout: 60_000 }, async () => {
    const sd3 = prepared('sd3');
    const sd15 = prepared('sd15');
    try {
      expect(await sizesOf(sd3.dir)).toEqual({ step: 16, min: 16, max: 64 });
      const file = join(sd15.dir, 'unet', 'config.json');
      writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), block_out_channels: [16, 32, 64, 64] }));
      expect(await sizesOf(sd15.dir)).toEqual({ step: 64, min: 64, max: 64 });
    } finally {
      sd3.cleanup();
      sd15.cleanup();
    }
  });
});

describe('ttsnap search with per-prompt sizes (embedded, sd15 fixture)', () => {
  const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');
  const run = promisify(execFile);

  it("a JSONL prompt's width and height give its pictures that size; a size off the step exits 2 naming the field", { timeout: 120_000 }, async () => {
    const fx = prepared('sd15');
    try {
      const file = join(fx.dir, 'prompts.jsonl');
      const out = join(fx.dir, 'out');
      writeFileSync(file, `${JSON.stringify({ text: PROMPT })}\n${JSON.stringify({ text: PROMPT, width: 32, height: 48 })}\n`);
      const args = ['search', '--model', fx.dir, '--prompts-file', file, '--candidates', '4', '--schedule', '10:0.5', '--policy', 'ttsp', '--seed', '3', '--provider', 'cpu', '--json', '--contact-sheets', '--out', out];
      const { stdout } = await run(process.execPath, [CLI, ...args]);
      const doc = JSON.parse(stdout) as { prompts: { settings?: unknown }[] };
      expect(doc.prompts[1]?.settings).toMatchObject({ width: 32, height: 48 });
      for (const [p, [w, h]] of [[0, [32, 32]], [1, [32, 48]]] as const) expect(decodePng(readFileSync(join(out, 'images', `${p}.png`))), `prompt ${p}`).toMatchObject({ width: w, height: h });
      expect(existsSync(join(out, 'images', '1-sheet.png'))).toBe(true);
      writeFileSync(file, `${JSON.stringify({ text: PROMPT, width: 36 })}\n`);
      const err = await run(process.execPath, [CLI, ...args.slice(0, -1), join(fx.dir, 'bad')]).then(
        () => null,
        (e: { code: number; stderr: string }) => e,
      );
      expect(err?.code).toBe(2);
      expect(err?.stderr.trim().split('\n').pop()).toBe('ttsnap: --prompts-file overrides[0].sampling.width: got 36; allowed: a multiple of 8 in [8, 64] (0 = not set)');
    } finally {
      fx.cleanup();
    }
  });
});
