import { applyStep } from '../../core/diffusion/scheduler.js';
import { ValidationError } from '../../core/errors.js';
import type { RewardSpec } from '../../core/contract/backend-info.js';
import type { Bundle } from './bundle.js';
import { preprocessImages } from './preprocess.js';
import type { Feed, Output } from './session.js';

/**
 * The model calls of the pipeline, on batches laid out back to back (row i of every array belongs to
 * candidate i). Pure functions of the bundle and their inputs: candidate state lives in pipeline.ts.
 */

const data = (o: Output[]): Float32Array => (o[0] as Output).data;

/** last_hidden_state of each text, [texts.length, L, D] flattened. */
export async function encodeTexts(b: Bundle, texts: readonly string[]): Promise<Float32Array> {
  const L = b.tokenizer.maxLength;
  const ids = new Int32Array(texts.length * L);
  texts.forEach((t, i) => ids.set(b.tokenizer.encode(t), i * L));
  return data(await b.textEncoder.run({ input_ids: { kind: 'ids', data: ids, dims: [texts.length, L] } }, ['last_hidden_state']));
}

/**
 * One denoise step of B latents at the same step index: the UNet sees [uncond x B, cond x B] (diffusers'
 * order) when guidance > 1, then out = u + g (c - u), then the scheduler. Returns the next latents and the
 * Tweedie estimates, both [B, C, h, w] flattened.
 */
export async function denoiseStep(b: Bundle, step: number, x: Float32Array, cond: readonly Float32Array[], uncond: Float32Array, guidance: number): Promise<{ next: Float32Array; x0: Float32Array }> {
  const s = b.scheduler;
  const B = cond.length;
  const n = x.length / B;
  const cfg = guidance > 1;
  const rows = cfg ? 2 * B : B;
  const scale = s.inputScale(step);
  const sample = new Float32Array(rows * n);
  for (let i = 0; i < B * n; i++) sample[i] = (x[i] as number) * scale;
  if (cfg) sample.copyWithin(B * n, 0, B * n);
  const T = uncond.length;
  const text = new Float32Array(rows * T);
  cond.forEach((emb, i) => {
    if (cfg) {
      text.set(uncond, i * T);
      text.set(emb, (B + i) * T);
    } else text.set(emb, i * T);
  });
  const l = b.manifest.latent;
  const io = b.denoiserInputs;
  const L = b.tokenizer.maxLength;
  const raw = data(
    await b.unet.run(
      {
        [io.sample]: { kind: 'float', data: sample, dims: [rows, l.channels, l.height, l.width] },
        [io.timestep]: { kind: 'timestep', value: (s.timesteps[step] as number) * b.manifest.sampling.timestep_scale, batch: rows },
        [io.text]: { kind: 'float', data: text, dims: [rows, L, T / L] },
      },
      [io.out],
    ),
  );
  let out = raw;
  if (cfg) {
    out = new Float32Array(B * n);
    for (let i = 0; i < B * n; i++) {
      const u = raw[i] as number;
      out[i] = u + guidance * ((raw[B * n + i] as number) - u);
    }
  }
  const next = new Float32Array(B * n);
  const x0 = new Float32Array(B * n);
  applyStep(s.coefficients(step), x, out, next, x0);
  return { next, x0 };
}

/** VAE decode of B latents (divided by the scaling factor first): [B, 3, H, W] in [-1, 1]. */
export async function decodeLatents(b: Bundle, latents: Float32Array, B: number): Promise<Float32Array> {
  const l = b.manifest.latent;
  const scaled = latents.map((v) => v / l.scaling_factor);
  return data(await b.decoder.run({ latent_sample: { kind: 'float', data: scaled, dims: [B, l.channels, l.height, l.width] } }, ['sample']));
}

/**
 * One reward on B decoded images of candidates at `step`: the noise-aware variant trained on this step's
 * Tweedie estimate when asked for and present (never at the last step), else the base model. `ids` holds
 * each row's token ids (image-text rewards).
 */
export async function rewardScores(b: Bundle, r: RewardSpec, step: number, images: Float32Array, ids: readonly Int32Array[]): Promise<Float32Array> {
  const sessions = b.rewards.get(r.name);
  const spec = b.manifest.rewards[r.name];
  if (!sessions || !spec) throw new ValidationError('reward', `unknown reward '${r.name}'`, [...b.rewards.keys()].join(' | '));
  const session = (r.noiseAware && step < b.scheduler.steps - 1 ? sessions.byStep.get(step) : undefined) ?? sessions.base;
  const { height, width } = b.manifest.image;
  const B = ids.length;
  const p = spec.preprocess;
  const feeds: Record<string, Feed> = {
    [spec.inputs.image]: { kind: 'float', data: preprocessImages(images, B, height, width, p), dims: [B, 3, p.crop, p.crop] },
  };
  if (spec.kind === 'image_text') {
    const L = b.tokenizer.maxLength;
    const flat = new Int32Array(B * L);
    ids.forEach((row, i) => flat.set(row, i * L));
    feeds[spec.inputs.text as string] = { kind: 'ids', data: flat, dims: [B, L] };
  }
  return data(await session.run(feeds, [spec.output]));
}
