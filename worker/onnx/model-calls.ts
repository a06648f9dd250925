import { stepNoise } from '../../core/diffusion/noise.js';
import { applyStep, type DiffusionScheduler } from '../../core/diffusion/scheduler.js';
import { zerosLike } from './float16.js';
import { ValidationError } from '../../core/errors.js';
import type { RewardSpec } from '../../core/contract/backend-info.js';
import type { DenoiseSide, ScoreSide } from './bundle.js';
import { preprocessImages } from './preprocess.js';
import { scoresOf } from './reward-contract.js';
import { variantsAt } from './variants.js';
import type { Feed, Output } from './session.js';
import type { Conditioning } from './text-encoders.js';
import type { CandidateSize } from './candidate-sampling.js';

/** An image's size in pixels. */
export interface ImageSize {
  readonly height: number;
  readonly width: number;
}

/**
 * The model calls of the pipeline, on batches laid out back to back (row i of every array belongs to
 * candidate i). Pure functions of the bundle and their inputs: candidate state lives in pipeline.ts.
 */

/** One row of a denoise call: the step it takes, its seed, and what it samples with (its own scheduler, guidance, negative prompt). */
export interface DenoiseRow {
  readonly step: number;
  readonly seed: number;
  readonly scheduler: DiffusionScheduler;
  readonly guidance: number;
  /** the negative prompt's conditioning; used where classifier-free guidance doubles the rows */
  readonly uncond: Conditioning;
}

/**
 * One denoise call of B latents, row i at step index rows[i].step of its own scheduler (a batch may mix steps
 * and step counts where the graph takes a [B] timestep). With classifier-free guidance the denoiser sees
 * [uncond x B, cond x B] (diffusers' order), then out = u + g_i (c - u), each row with its own negative prompt
 * and guidance; FLUX takes the guidance as an input instead. `cfg` says whether the rows are doubled and `size`
 * what size every row's latent is: all rows of a call agree on both (a row's result must not depend on the call it is in). Then each row's scheduler step, with
 * the row's fresh noise stepNoise(seed, step) where the sampler is ancestral.
 * Returns the next latents and the Tweedie estimates, both [B, C, h, w] flattened.
 */
export async function denoiseStep(b: DenoiseSide, batch: readonly DenoiseRow[], x: Float32Array, cond: readonly Conditioning[], cfg: boolean, size: CandidateSize): Promise<{ next: Float32Array; x0: Float32Array }> {
  const B = cond.length;
  const n = x.length / B;
  const rows = cfg ? 2 * B : B;
  const sample = new Float32Array(rows * n);
  const timesteps = new Float64Array(rows);
  for (let i = 0; i < B; i++) {
    const { step, scheduler: s } = batch[i] as DenoiseRow;
    const scale = s.inputScale(step);
    for (let k = i * n; k < (i + 1) * n; k++) sample[k] = (x[k] as number) * scale;
    timesteps[i] = s.timesteps[step] as number;
  }
  if (cfg) {
    sample.copyWithin(B * n, 0, B * n);
    timesteps.copyWithin(B, 0, B);
  }
  const first = cond[0] as Conditioning;
  const T = first.seq.length;
  const P = first.pooled.length;
  // in the conditioning's (the denoiser's) float type: rows are copied, never converted
  const seq = zerosLike(first.seq, rows * T);
  const pooled = zerosLike(first.pooled, rows * P);
  cond.forEach((c, i) => {
    const row = cfg ? B + i : i;
    seq.set(c.seq, row * T);
    pooled.set(c.pooled, row * P);
    if (cfg) {
      const uncond = (batch[i] as DenoiseRow).uncond;
      seq.set(uncond.seq, i * T);
      pooled.set(uncond.pooled, i * P);
    }
  });
  const guidance = batch.map((r) => r.guidance);
  const raw = await b.denoiser.run(sample, rows, timesteps, { seq, seqLen: first.seqLen, seqDim: T / first.seqLen, pooled, pooledDim: P }, guidance, size);
  let out = raw;
  if (cfg) {
    out = new Float32Array(B * n);
    for (let i = 0; i < B; i++) {
      const g = guidance[i] as number;
      for (let k = i * n; k < (i + 1) * n; k++) {
        const u = raw[k] as number;
        out[k] = u + g * ((raw[B * n + k] as number) - u);
      }
    }
  }
  const next = new Float32Array(B * n);
  const x0 = new Float32Array(B * n);
  const z = new Float32Array(n);
  for (let i = 0; i < B; i++) {
    const { step, seed, scheduler: s } = batch[i] as DenoiseRow;
    const r = (a: Float32Array): Float32Array => a.subarray(i * n, (i + 1) * n);
    const c = s.coefficients(step);
    applyStep(c, r(x), r(out), r(next), r(x0), s.stochastic && c.noise ? stepNoise(seed, step, n, z) : undefined);
  }
  return { next, x0 };
}

/** VAE decode of B latents of one latent size h x w (latent / scaling_factor + shift_factor): [B, 3, H, W] in [-1, 1]. */
export async function decodeLatents(b: ScoreSide, latents: Float32Array, B: number, h: number, w: number): Promise<Float32Array> {
  const l = b.manifest.latent;
  const scaled = latents.map((v) => v / l.scaling_factor + l.shift_factor);
  const [o] = await b.decoder.run({ latent_sample: { kind: 'float', data: scaled, dims: [B, l.channels, h, w] } }, ['sample']);
  return (o as Output).data;
}

/**
 * What happens when a noise-aware score is asked for at a step without a variant: `refuse` (the default)
 * throws naming the step and the steps that have one; `base` scores with the base reward and calls `warn`.
 */
export interface MissingVariant {
  readonly mode: 'refuse' | 'base';
  readonly warn: (reward: string, step: number) => void;
}

/**
 * One reward on B decoded images of candidates at `step` of `total` sampling steps: the noise-aware variant
 * trained on this step's Tweedie estimate when asked for (never at the last step, which scores the clean image
 * with the base model); without a variant at `step`, as `missing` says. `texts` holds each row's prompt text
 * (image-text rewards tokenise it with their own tokenizer); `size` the images' size (the rewards' preprocessing
 * resizes any size to their input).
 */
export async function rewardScores(b: ScoreSide, r: RewardSpec, step: number, total: number, images: Float32Array, size: ImageSize, texts: readonly string[], missing: MissingVariant): Promise<Float32Array> {
  const sessions = b.rewards.get(r.name);
  if (!sessions) throw new ValidationError('reward', `unknown reward '${r.name}'`, [...b.rewards.keys()].join(' | '));
  const spec = sessions.spec;
  const wantVariant = r.noiseAware && step < total - 1;
  const variants = wantVariant ? variantsAt(sessions, b, total) : null;
  const variant = variants?.get(step);
  if (variants && !variant) {
    const have = [...variants.keys()].sort((x, y) => x - y).join(', ') || 'none';
    if (missing.mode === 'refuse') throw new ValidationError('schedule', `prunes at step ${step}, where reward ${r.name} has no noise-aware variant (variants at steps: ${have})`, 'prune points at steps with a variant, policy ttsp (base reward at prune points), or --missing-variant base (scores with the base reward, warned and recorded)');
    missing.warn(r.name, step);
  }
  const session = variant ?? sessions.base;
  const { height, width } = size;
  const B = texts.length;
  const p = spec.preprocess;
  const feeds: Record<string, Feed> = {
    [spec.inputs.image]: { kind: 'float', data: preprocessImages(images, B, height, width, p), dims: [B, 3, p.crop, p.crop] },
  };
  if (spec.kind === 'image_text' && sessions.tokenizer) {
    const tok = sessions.tokenizer;
    const L = tok.maxLength;
    const ids = new Int32Array(B * L);
    const mask = new Int32Array(B * L);
    texts.forEach((t, i) => {
      const e = tok.encodeWithMask(t);
      ids.set(e.ids, i * L);
      mask.set(e.mask, i * L);
    });
    feeds[spec.inputs.text as string] = { kind: 'ids', data: ids, dims: [B, L] };
    if (spec.inputs.mask) feeds[spec.inputs.mask] = { kind: 'ids', data: mask, dims: [B, L] };
  }
  const [o] = await session.run(feeds, [spec.output]);
  return scoresOf(o as Output, B, spec, session.file);
}
