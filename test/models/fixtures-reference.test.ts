import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initialNoise, stepNoise } from '../../core/diffusion/noise.js';
import { initManifest, writeManifest } from '../../worker/onnx/init.js';
import { OnnxPipeline } from '../../worker/onnx/pipeline.js';
import { preprocessImages } from '../../worker/onnx/preprocess.js';
import { addReward } from '../../worker/onnx/reward-folder.js';
import { decodeState } from '../../worker/onnx/state.js';
import { loadTokenizer } from '../../worker/onnx/tokenizer.js';
import { copyFixture, FIXTURES, FP16, LAYOUTS, maxRelDiff, reference, REWARDS, type Reference, type ReferenceRun } from './fixture-helpers.js';
import { TINY } from './helpers.js';

/**
 * Every layout fixture, from the folder as the exporter writes it (models init, the three fixture rewards
 * attached), sampled by the TypeScript pipeline and compared with the PyTorch reference of
 * models/fixtures/recipe (diffusers' schedulers and pipelines restated, on ttsnap's Philox noise).
 * Differences are max |ts - ref| / max(1, |ref|) over every element.
 * Tolerances: fp32 graphs against PyTorch fp32: 1e-4 (onnxruntime and PyTorch kernels round differently;
 *   measured at most 1.5e-5, on SD 1.5's step-0 Tweedie estimate, after 4-50 steps);
 * fp16 graphs (fp16 weights, I/O and every activation between nodes, as fp16 exports) against the same fp32
 *   reference: latents and step-0 Tweedie estimates 1e-1, decoded images and scores 3e-2. Half precision rounds
 *   each activation to 2^-11 relative; guidance 7.5 multiplies the rounding of the two passes' difference and
 *   the step-0 Tweedie estimate divides by sqrt(abar_951) = 1/14.6 (measured at most 4.5e-2, SD 1.5 fp16 latents
 *   after 50 guided steps; images 1.1e-2, scores 2.5e-3).
 */
const FP32_TOL = 1e-4;
const FP16_TOL = { latent: 1e-1, pixels: 3e-2 };
const table: string[] = [];
afterAll(() => {
  // the figures quoted in models/README.md
  process.stdout.write(`largest difference from the PyTorch reference (relative, max(1,|ref|)):\n${table.sort().join('\n')}\n`);
});

const noLog = (): void => undefined;

describe.each([...LAYOUTS, ...FP16.map((l) => `${l}-fp16`)])('%s against the PyTorch reference', (name) => {
  it('tokens, noise, timesteps, step-0 latent and Tweedie estimate, final latents, decoded images and the three rewards agree', { timeout: 120_000 }, async () => {
    const ref = reference(name);
    const fx = copyFixture(name);
    try {
      let m = initManifest(fx.dir).manifest;
      for (const r of REWARDS) m = addReward(fx.dir, m, r.name, join(FIXTURES, 'rewards', r.name), r.opts).manifest;
      writeManifest(fx.dir, m);
      const runs: [string, ReferenceRun, Size?][] = [[name, ref]];
      if (ref.ancestral) runs.push([`${name} ancestral`, ref.ancestral]);
      // a candidate's own size (its settings' width and height), where the exports' spatial dims are dynamic
      if (ref.other_size) runs.push([`${name} ${ref.other_size.width}x${ref.other_size.height}`, ref.other_size, { width: ref.other_size.width, height: ref.other_size.height }]);
      for (const [label, run, size] of runs) {
        // the ancestral run of a non-ancestral config: the manifest's scheduler override, as a user would write it
        if (run.scheduler && m.sampling.scheduler !== run.scheduler) writeManifest(fx.dir, { ...m, sampling: { ...m.sampling, scheduler: run.scheduler } });
        const p = await OnnxPipeline.load({ bundle: fx.dir, provider: 'cpu', threads: 1, maxBatch: 8 }, noLog);
        try {
          // models init chose the pipeline's defaults (and sampler) the reference ran with
          expect([p.steps, p.guidance, p.bundle.scheduler.kind === 'euler_ancestral']).toEqual([ref.steps, ref.guidance, run.scheduler === 'euler_ancestral']);
          expect(maxRelDiff(p.bundle.scheduler.timesteps, ref.timesteps)).toBeLessThan(1e-6);
          for (const [dir, ids] of Object.entries(ref.token_ids)) expect(Array.from(loadTokenizer(join(fx.dir, dir), ids.length).encode(ref.prompt)), dir).toEqual(ids);
          const l = p.bundle.manifest.latent;
          const n = l.channels * l.height * l.width;
          expect(maxRelDiff(ref.seeds.flatMap((s) => Array.from(initialNoise(s, n).subarray(0, 16))), ref.noise_head)).toBeLessThan(1e-6);
          if (run.step_noise_head) {
            const stepHeads = [0, 1].flatMap((i) => ref.seeds.flatMap((s) => Array.from(stepNoise(s, i, n).subarray(0, 16))));
            expect(maxRelDiff(stepHeads, run.step_noise_head)).toBeLessThan(1e-6);
          }
          table.push(`${label.padEnd(22)} ${Object.entries(await compareRun(p, ref, run, size)).map(([k, v]) => `${k} ${v.toExponential(1)}`).join('  ')}`);
        } finally {
          await p.close();
        }
      }
    } finally {
      fx.cleanup();
    }
  });
});

type Size = { readonly width: number; readonly height: number };

/** Samples the reference's seeds to the end (at `size`, else the bundle's) and returns the largest differences, each checked against its tolerance. */
async function compareRun(p: OnnxPipeline, ref: Reference, run: ReferenceRun, size?: Size): Promise<Record<string, number>> {
  const sampling = size && { guidance: 0, steps: 0, negative_prompt: '', ...size };
  const specs = ref.seeds.map((seed, i) => ({ key: `c${i}`, prompt: 0, text: ref.prompt, candidate: i, seed, ...(sampling ? { sampling } : {}) }));
  const keys = specs.map((s) => s.key);
  const states = (): { latent: number[]; x0: number[] } => {
    const st = keys.map((k) => decodeState(p.exportState(k), p.bundle.manifest.name));
    return { latent: st.flatMap((s) => Array.from(s.latent)), x0: st.flatMap((s) => Array.from(s.x0 ?? [])) };
  };
  await p.create(specs);
  await p.advance(keys.map((key) => ({ key, toStep: 0 })));
  const first = states();
  await p.advance(keys.map((key) => ({ key, toStep: ref.steps - 1 })));
  const images = await p.images(keys);
  const scores = await p.score(keys, REWARDS.map((r) => ({ name: r.name, noiseAware: false })));
  const diffs = {
    step0: Math.max(maxRelDiff(first.latent, run.latent_step0), maxRelDiff(first.x0, run.x0_step0)),
    latents: maxRelDiff(states().latent, run.latents),
    images: maxRelDiff(images, run.images),
    scores: Math.max(...REWARDS.map((r, i) => maxRelDiff(scores[i] as Float64Array, run.scores[r.name]))),
    ...Object.fromEntries(REWARDS.map((r, i) => [r.name, maxRelDiff(scores[i] as Float64Array, run.scores[r.name])])),
  };
  p.release(keys);
  const tol = p.bundle.manifest.name.endsWith('-fp16') ? FP16_TOL : FP32_TOL;
  for (const [k, v] of Object.entries(diffs)) expect(v, k).toBeLessThan(typeof tol === 'number' ? tol : k === 'step0' || k === 'latents' ? tol.latent : tol.pixels);
  return diffs;
}

describe('the tiny bundle against the PyTorch reference (its committed weights loaded back into models/recipe/nets.py)', () => {
  it('final latents, decoded images, align and quality scores of four seeds (20 DDIM steps, guidance 4)', { timeout: 120_000 }, async () => {
    const ref = JSON.parse(readFileSync(join(FIXTURES, 'reference', 'tiny.json'), 'utf8')) as Pick<Reference, 'prompt' | 'seeds' | 'steps' | 'latents' | 'images'> & { scores: Record<'align' | 'quality', number[]> };
    const p = await OnnxPipeline.load({ bundle: TINY, provider: 'cpu', threads: 1, maxBatch: 8 }, noLog);
    try {
      const keys = ref.seeds.map((seed, i) => ({ key: `t${i}`, prompt: 0, text: ref.prompt, candidate: i, seed }));
      await p.create(keys);
      await p.advance(keys.map((k) => ({ key: k.key, toStep: ref.steps - 1 })));
      const latents = keys.flatMap((k) => Array.from(decodeState(p.exportState(k.key), p.bundle.manifest.name).latent));
      const images = await p.images(keys.map((k) => k.key));
      const [align, quality] = await p.score(keys.map((k) => k.key), [{ name: 'align', noiseAware: false }, { name: 'quality', noiseAware: false }]);
      const diffs = { latents: maxRelDiff(latents, ref.latents), images: maxRelDiff(images, ref.images), scores: Math.max(maxRelDiff(align as Float64Array, ref.scores.align), maxRelDiff(quality as Float64Array, ref.scores.quality)) };
      table.push(`${'tiny'.padEnd(18)} ${Object.entries(diffs).map(([k, v]) => `${k} ${v.toExponential(1)}`).join('  ')}`);
      for (const [k, v] of Object.entries(diffs)) expect(v, k).toBeLessThan(FP32_TOL);
    } finally {
      await p.close();
    }
  });
});

describe('reward preprocessing', () => {
  it('matches torch.nn.functional.interpolate(bicubic, antialias=True) + centre crop + CLIP mean/std on the reference images', () => {
    const ref = reference('sd15');
    const p = { resize: 28, crop: 24, mean: [0.48145466, 0.4578275, 0.40821073] as [number, number, number], std: [0.26862954, 0.26130258, 0.27577711] as [number, number, number], resample: 'bicubic' as const };
    const px = preprocessImages(Float32Array.from(ref.images), ref.seeds.length, 32, 32, p);
    const per = 3 * 24 * 24;
    const head = ref.seeds.flatMap((_, b) => Array.from(px.subarray(b * per, b * per + 64)));
    expect(maxRelDiff(head, ref.reward_pixels_head)).toBeLessThan(1e-5);
  });
});
