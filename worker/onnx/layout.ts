import { BadFileError } from '../../core/errors.js';
import { asFloatType, zerosLike, type FloatData } from './float16.js';
import type { Manifest } from './manifest.js';
import type { AdaptedSession, Feed } from './session.js';
import type { CandidateSize } from './candidate-sampling.js';

/**
 * The denoiser signatures ttsnap feeds, as `optimum-cli export onnx` names them (../shared/EXPORTS.md):
 * sd = SD 1.x / 2.x / Turbo UNet, sdxl = SDXL base / Turbo UNet, sd3 = SD3 MMDiT, flux = FLUX.1 (guidance
 * only in dev exports). Detected from the graph's inputs; the manifest declares the same.
 */
export type LayoutKind = Manifest['layout'];

interface LayoutSpec {
  readonly folder: 'unet' | 'transformer';
  readonly inputs: readonly string[];
  readonly optional: readonly string[];
  readonly output: string;
}

export const LAYOUTS: Readonly<Record<LayoutKind, LayoutSpec>> = {
  sd: { folder: 'unet', inputs: ['sample', 'timestep', 'encoder_hidden_states'], optional: [], output: 'out_sample' },
  sdxl: { folder: 'unet', inputs: ['sample', 'timestep', 'encoder_hidden_states', 'text_embeds', 'time_ids'], optional: [], output: 'out_sample' },
  sd3: { folder: 'transformer', inputs: ['hidden_states', 'encoder_hidden_states', 'pooled_projections', 'timestep'], optional: [], output: 'out_hidden_states' },
  flux: { folder: 'transformer', inputs: ['hidden_states', 'encoder_hidden_states', 'pooled_projections', 'timestep', 'img_ids', 'txt_ids'], optional: ['guidance'], output: 'out_hidden_states' },
};

const describe = (k: LayoutKind): string => `${k} (${[...LAYOUTS[k].inputs, ...LAYOUTS[k].optional.map((o) => `[${o}]`)].join(', ')})`;

/** The layout whose inputs the graph has exactly; otherwise one line naming the input that no layout explains. */
export function detectLayout(inputs: readonly string[], file: string): LayoutKind {
  const kinds = Object.keys(LAYOUTS) as LayoutKind[];
  for (const k of kinds) {
    const l = LAYOUTS[k];
    if (l.inputs.every((n) => inputs.includes(n)) && inputs.every((n) => l.inputs.includes(n) || l.optional.includes(n))) return k;
  }
  // the nearest layout names what is off
  const score = (k: LayoutKind): number => inputs.filter((n) => LAYOUTS[k].inputs.includes(n) || LAYOUTS[k].optional.includes(n)).length;
  const near = kinds.reduce((a, b) => (score(b) > score(a) ? b : a));
  const extra = inputs.filter((n) => !LAYOUTS[near].inputs.includes(n) && !LAYOUTS[near].optional.includes(n));
  const missing = LAYOUTS[near].inputs.filter((n) => !inputs.includes(n));
  const what = extra.length ? `input ${extra.join(', ')} is not supported` : `input ${missing.join(', ')} is missing`;
  throw new BadFileError(file, `${what}; supported denoiser inputs: ${kinds.map(describe).join('; ')}`);
}

/** Text conditioning of a batch: token states [rows, seqLen, seqDim] and pooled embeddings [rows, pooledDim]. */
export interface CondBatch {
  readonly seq: FloatData;
  readonly seqLen: number;
  readonly seqDim: number;
  readonly pooled: FloatData;
  readonly pooledDim: number;
}

/**
 * The denoiser of a bundle: feeds the inputs of its layout from unpacked latents [rows, C, h, w], per-row
 * timesteps and text conditioning, and returns the model output unpacked to [rows, C, h, w].
 */
export class Denoiser {
  readonly spec: LayoutSpec;

  constructor(
    readonly kind: LayoutKind,
    readonly session: AdaptedSession,
    private readonly m: Manifest,
  ) {
    this.spec = LAYOUTS[kind];
  }

  /** True when one call may mix candidates at different steps (the graph takes a [B] timestep). */
  get mixedSteps(): boolean {
    return this.session.perRowTimestep('timestep');
  }

  /** Classifier-free guidance doubles the batch, except for FLUX (guidance is an input in dev, distilled away in schnell). */
  get doublesForGuidance(): boolean {
    return this.kind !== 'flux';
  }

  get takesGuidance(): boolean {
    return this.session.inputNames.includes('guidance');
  }

  private readonly constantRows = new Map<string, FloatData>();

  /** `row` repeated `rows` times in the input's float type; the row is converted once per value, then copied. */
  private repeated(input: string, row: readonly number[], rows: number): FloatData {
    const key = `${input}:${row.join(',')}`;
    let one = this.constantRows.get(key);
    if (!one) {
      one = asFloatType(Float32Array.from(row), this.session.inputType(input) === 'float16' ? 'float16' : 'float32');
      this.constantRows.set(key, one);
    }
    const out = zerosLike(one, rows * row.length);
    for (let r = 0; r < rows; r++) out.set(one, r * row.length);
    return out;
  }

  private readonly imageIdsBySize = new Map<string, Int32Array>();

  /** FLUX's img_ids of a latent h x w: (0, row, column) per 2x2 patch, row-major (diffusers _prepare_latent_image_ids). */
  private imageIds(h: number, w: number): Int32Array {
    const key = `${h}x${w}`;
    let ids = this.imageIdsBySize.get(key);
    if (!ids) {
      ids = new Int32Array((h / 2) * (w / 2) * 3);
      for (let i = 0; i < h / 2; i++) for (let j = 0; j < w / 2; j++) ids.set([0, i, j], (i * (w / 2) + j) * 3);
      this.imageIdsBySize.set(key, ids);
    }
    return ids;
  }

  /** `guidance`: per candidate row (FLUX dev takes it as an input; other layouts combine guided passes outside). */
  /** One value per row in the input's float type (repeated() where every row has the same value). */
  private perRow(input: string, values: readonly number[]): FloatData {
    if (values.every((v) => v === values[0])) return this.repeated(input, [values[0] ?? 0], values.length);
    return asFloatType(Float32Array.from(values), this.session.inputType(input) === 'float16' ? 'float16' : 'float32');
  }

  /** One call at one size: every row's latent is size.latentHeight x size.latentWidth (a call never mixes sizes). */
  async run(sample: Float32Array, rows: number, timesteps: Float64Array, cond: CondBatch, guidance: readonly number[], size: CandidateSize): Promise<Float32Array> {
    const C = this.m.latent.channels;
    const [h, w] = [size.latentHeight, size.latentWidth];
    const ts = this.m.sampling.timestep_scale === 1 ? timesteps : timesteps.map((t) => t * this.m.sampling.timestep_scale);
    const text: Feed = { kind: 'float', data: cond.seq, dims: [rows, cond.seqLen, cond.seqDim] };
    const pooled: Feed = { kind: 'float', data: cond.pooled, dims: [rows, cond.pooledDim] };
    const feeds: Record<string, Feed> = { timestep: { kind: 'timestep', values: ts }, encoder_hidden_states: text };
    if (this.kind === 'sd' || this.kind === 'sdxl') feeds.sample = { kind: 'float', data: sample, dims: [rows, C, h, w] };
    if (this.kind === 'sdxl') {
      // original size, crop top-left (0, 0), target size: diffusers' default add_time_ids, at the candidate's size
      const { height: H, width: W } = size;
      Object.assign(feeds, { text_embeds: pooled, time_ids: { kind: 'float', data: this.repeated('time_ids', [H, W, 0, 0, H, W], rows), dims: [rows, 6] } satisfies Feed });
    }
    if (this.kind === 'sd3') Object.assign(feeds, { hidden_states: { kind: 'float', data: sample, dims: [rows, C, h, w] } satisfies Feed, pooled_projections: pooled });
    if (this.kind === 'flux') {
      const n = (h / 2) * (w / 2);
      Object.assign(feeds, {
        hidden_states: { kind: 'float', data: pack(sample, rows, C, h, w), dims: [rows, n, C * 4] } satisfies Feed,
        pooled_projections: pooled,
        img_ids: { kind: 'ids', data: this.imageIds(h, w), dims: [n, 3] } satisfies Feed,
        txt_ids: { kind: 'ids', data: new Int32Array(cond.seqLen * 3), dims: [cond.seqLen, 3] } satisfies Feed,
      });
      if (this.takesGuidance) feeds.guidance = { kind: 'float', data: this.perRow('guidance', guidance), dims: [rows] };
    }
    const [out] = await this.session.run(feeds, [this.spec.output]);
    const data = (out as { data: Float32Array }).data;
    return this.kind === 'flux' ? unpack(data, rows, C, h, w) : data;
  }
}

/** FLUX's 2x2 patch packing: [B, C, h, w] -> [B, (h/2)(w/2), 4C], channel-major within a patch (diffusers _pack_latents). */
export function pack(x: Float32Array, B: number, C: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  forPatches(B, C, h, w, (src, dst) => (out[dst] = x[src] as number));
  return out;
}

/** The inverse of pack. */
export function unpack(x: Float32Array, B: number, C: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  forPatches(B, C, h, w, (src, dst) => (out[src] = x[dst] as number));
  return out;
}

function forPatches(B: number, C: number, h: number, w: number, f: (unpacked: number, packed: number) => void): void {
  const h2 = h / 2;
  const w2 = w / 2;
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const token = (y >> 1) * w2 + (x >> 1);
          const feature = c * 4 + (y & 1) * 2 + (x & 1);
          f(((b * C + c) * h + y) * w + x, (b * h2 * w2 + token) * C * 4 + feature);
        }
}
