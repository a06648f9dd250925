import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BadFileError } from '../../core/errors.js';
import { countFlops, type FlopCount } from './flops.js';
import { readOnnxGraph } from './graph.js';
import { LAYOUTS } from './layout.js';
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

/** Counts FLOPs of every model of a bundle at batch 1, binding symbolic dims from the manifest and the layout. */
export function bundleCost(dirIn: string, guidance?: number): BundleCost {
  const dir = resolve(dirIn);
  const m = loadManifest(dir);
  const L = m.text.max_length;
  const S = m.text.t5_max_length ?? 256;
  const { channels: C, height: h, width: w } = m.latent;
  const packed = (h / 2) * (w / 2);
  // the denoiser's token count: CLIP tokens (SD, SDXL), CLIP + T5 (SD3), T5 (FLUX)
  const seq = m.layout === 'sd3' ? L + S : m.layout === 'flux' ? S : L;
  // concrete shapes of inputs that exports leave symbolic (batch, sequence, height, width, packed tokens)
  const denoiserShapes: Record<string, number[]> = {
    sample: [1, C, h, w],
    hidden_states: m.layout === 'flux' ? [1, packed, 4 * C] : [1, C, h, w],
    encoder_hidden_states: [1, seq],
    img_ids: [packed, 3],
    txt_ids: [S, 3],
  };
  const count = (rel: string, known: Readonly<Record<string, readonly number[]>>): FlopCount => {
    const file = join(dir, rel);
    if (!existsSync(file)) throw new BadFileError(file, 'missing; expected by the bundle layout');
    return countFlops(readOnnxGraph(file), (input, dim, axis) => {
      const v = known[input]?.[axis] ?? (axis === 0 ? 1 : undefined);
      if (v === undefined) throw new BadFileError(file, `input ${input} has a symbolic dim '${dim}' at axis ${axis} that ttsnap.json does not fix; expected batch, text length or latent/image sizes`);
      return v;
    });
  };
  const folder = LAYOUTS[m.layout].folder;
  const encoders = ['text_encoder', 'text_encoder_2', 'text_encoder_3'].filter((e) => existsSync(join(dir, e, 'model.onnx')));
  const t5 = (e: string): boolean => (m.layout === 'flux' && e === 'text_encoder_2') || e === 'text_encoder_3';
  const counts: Record<string, FlopCount> = {
    [folder]: count(`${folder}/model.onnx`, denoiserShapes),
    vae_decoder: count('vae_decoder/model.onnx', { latent_sample: [1, C, h, w] }),
  };
  for (const e of encoders) counts[e] = count(`${e}/model.onnx`, { input_ids: [1, t5(e) ? S : L] });
  for (const [name, r] of Object.entries(m.rewards)) {
    const ids = [1, r.max_length ?? L];
    counts[`rewards/${name}`] = count(r.file, { [r.inputs.image]: [1, 3, r.preprocess.crop, r.preprocess.crop], ...(r.inputs.text ? { [r.inputs.text]: ids } : {}), ...(r.inputs.mask ? { [r.inputs.mask]: ids } : {}) });
  }
  // FLUX's guidance is an input, not a second pass
  const passes = m.layout !== 'flux' && (guidance ?? m.sampling.guidance_scale) > 1 ? 2 : 1;
  const unet = counts[folder] as FlopCount;
  const decode = (counts.vae_decoder as FlopCount).total;
  const verify: Record<string, number> = {};
  for (const name of Object.keys(m.rewards)) verify[name] = (decode + (counts[`rewards/${name}`] as FlopCount).total) / T;
  const models: Record<string, { tflops: number; byOp: Record<string, number>; uncounted: number }> = {};
  for (const [k, c] of Object.entries(counts)) models[k] = { tflops: c.total / T, byOp: Object.fromEntries(Object.entries(c.byOp).map(([op, f]) => [op, f / T])), uncounted: c.uncounted.length };
  const textEncoder = encoders.reduce((sum, e) => sum + (counts[e] as FlopCount).total, 0) / T;
  return { unit: 'TFLOPs', denoise: (unet.total * passes) / T, verify, passes, textEncoder, models };
}

/** The manifest with its cost block replaced (what `models cost --write` saves). */
export function withCost(m: Manifest, c: BundleCost): Manifest {
  return { ...m, cost: { ...m.cost, unit: c.unit, denoise: c.denoise, verify: { ...c.verify } } };
}
