import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BadFileError } from '../../core/errors.js';
import { countFlops, type FlopCount } from './flops.js';
import { readOnnxGraph } from './graph.js';
import { loadManifest, type Manifest } from './manifest.js';

/** The manifest's cost block computed from the graphs, with the per-model counts behind it. */
export interface BundleCost {
  readonly unit: 'TFLOPs';
  /** one candidate's denoise step: UNet FLOPs x passes (2 with classifier-free guidance) */
  readonly denoise: number;
  /** one reward call on one candidate: VAE decode of the Tweedie estimate + the reward model */
  readonly verify: Readonly<Record<string, number>>;
  readonly passes: number;
  /** once per prompt, not per candidate: reported, not charged */
  readonly textEncoder: number;
  readonly models: Readonly<Record<string, { readonly tflops: number; readonly byOp: Readonly<Record<string, number>>; readonly uncounted: number }>>;
}

const T = 1e12;

/** Counts FLOPs of every model of a bundle at batch 1, binding symbolic dims from the manifest. */
export function bundleCost(dirIn: string, guidance?: number): BundleCost {
  const dir = resolve(dirIn);
  const m = loadManifest(dir);
  const L = m.text.max_length;
  const lat = [1, m.latent.channels, m.latent.height, m.latent.width];
  // concrete shapes of inputs that exports leave symbolic (SD exports: batch, sequence, height, width)
  const known = new Map<string, number[]>([
    ['sample', lat],
    ['latent_sample', lat],
    ['hidden_states', lat],
    ['input_ids', [1, L]],
    ['encoder_hidden_states', [1, L]],
  ]);
  for (const r of Object.values(m.rewards)) {
    known.set(r.inputs.image, [1, 3, r.preprocess.crop, r.preprocess.crop]);
    if (r.inputs.text) known.set(r.inputs.text, [1, L]);
  }
  const count = (rel: string): FlopCount => {
    const file = join(dir, rel);
    if (!existsSync(file)) throw new BadFileError(file, 'missing; expected by the bundle layout');
    return countFlops(readOnnxGraph(file), (input, dim, axis) => {
      const v = known.get(input)?.[axis] ?? (axis === 0 ? 1 : undefined);
      if (v === undefined) throw new BadFileError(file, `input ${input} has a symbolic dim '${dim}' at axis ${axis} that ttsnap.json does not fix; expected batch, text length or latent/image sizes`);
      return v;
    });
  };
  const unetRel = existsSync(join(dir, 'unet', 'model.onnx')) ? 'unet/model.onnx' : 'transformer/model.onnx';
  const counts: Record<string, FlopCount> = {
    text_encoder: count('text_encoder/model.onnx'),
    [unetRel.split('/')[0] as string]: count(unetRel),
    vae_decoder: count('vae_decoder/model.onnx'),
  };
  for (const [name, r] of Object.entries(m.rewards)) counts[`rewards/${name}`] = count(r.file);
  const passes = (guidance ?? m.sampling.guidance_scale) > 1 ? 2 : 1;
  const unet = counts[unetRel.split('/')[0] as string] as FlopCount;
  const decode = (counts.vae_decoder as FlopCount).total;
  const verify: Record<string, number> = {};
  for (const name of Object.keys(m.rewards)) verify[name] = (decode + (counts[`rewards/${name}`] as FlopCount).total) / T;
  const models: Record<string, { tflops: number; byOp: Record<string, number>; uncounted: number }> = {};
  for (const [k, c] of Object.entries(counts)) models[k] = { tflops: c.total / T, byOp: Object.fromEntries(Object.entries(c.byOp).map(([op, f]) => [op, f / T])), uncounted: c.uncounted.length };
  return { unit: 'TFLOPs', denoise: (unet.total * passes) / T, verify, passes, textEncoder: (counts.text_encoder as FlopCount).total / T, models };
}

/** The manifest with its cost block replaced (what `models cost --write` saves). */
export function withCost(m: Manifest, c: BundleCost): Manifest {
  return { ...m, cost: { ...m.cost, unit: c.unit, denoise: c.denoise, verify: { ...c.verify } } };
}
