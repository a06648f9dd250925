import { ValidationError } from '../../core/errors.js';
import type { RewardSpec } from '../../core/contract/backend-info.js';
import { loadSide, bundleSessions, type ScoreSide } from './bundle.js';
import { decodeLatents, rewardScores, type MissingVariant } from './model-calls.js';
import type { PipelineOptions } from './pipeline.js';
import type { CandidateSize } from './candidate-sampling.js';

/**
 * Candidates to score, row j back to back: the latent to decode (Tweedie estimate, or the sample at S-1), its
 * step, its sampling steps S (its own, or the worker's), its prompt text and its size (rows' latents differ in
 * length where their sizes do).
 */
export interface ScoreRows {
  readonly latents: Float32Array;
  readonly steps: readonly number[];
  readonly totals: readonly number[];
  readonly texts: readonly string[];
  readonly sizes: readonly CandidateSize[];
}

/** Floats of the decoded images of rows of these sizes, back to back ([3, H, W] each). */
export function imageFloats(sizes: readonly CandidateSize[]): number {
  return sizes.reduce((a, s) => a + 3 * s.height * s.width, 0);
}

/** Where each row starts in an array of per-row blocks of `per(size)` floats. */
function offsets(sizes: readonly CandidateSize[], per: (s: CandidateSize) => number): number[] {
  const out: number[] = [];
  let at = 0;
  for (const s of sizes) {
    out.push(at);
    at += per(s);
  }
  return out;
}

const sizeKey = (s: CandidateSize): string => `${s.latentHeight}x${s.latentWidth}`;

/**
 * Decode and reward calls on the scoring side of a bundle. It needs only the latents of the candidates it
 * scores, so it runs in the denoising thread (one thread) or in an inference thread of its own beside it, where
 * decode and reward calls overlap denoising (worker/onnx/host.ts).
 */
export class Scorer {
  /** (reward, step) pairs scored with the base reward for want of a variant, each warned once */
  readonly substitutions = new Set<string>();
  private readonly missing: MissingVariant;

  constructor(
    readonly side: ScoreSide,
    private readonly maxBatch: number,
    mode: 'refuse' | 'base',
    private readonly log: (line: string) => void,
  ) {
    this.missing = {
      mode,
      warn: (reward, step) => {
        const key = `${reward}@${step}`;
        if (this.substitutions.has(key)) return;
        this.substitutions.add(key);
        this.log(`onnx: warning: reward ${reward} has no noise-aware variant at step ${step}; scored with the base reward (--missing-variant base)`);
      },
    };
  }

  /** The scoring side of opts.bundle in this thread. */
  static async load(opts: PipelineOptions, log: (line: string) => void): Promise<Scorer> {
    const side = await loadSide(opts.bundle, { provider: opts.provider, threads: opts.threads, log, ...(opts.runtime ? { runtime: opts.runtime } : {}) }, opts.steps, 'score');
    return new Scorer(side, opts.maxBatch, opts.missingVariant ?? 'refuse', log);
  }

  /**
   * One Float64Array per reward, aligned with the rows. A reward call shares its session, hence its step (and
   * step count): rows are ordered by both and cut into batches of at most maxBatch. `previews`, when given, receives the decoded
   * images the rewards saw ([B, 3, H, W] in [-1, 1], one per row).
   */
  async score(rows: ScoreRows, rewards: readonly RewardSpec[], signal?: AbortSignal, previews?: Float32Array): Promise<Float64Array[]> {
    const out = rewards.map(() => new Float64Array(rows.steps.length));
    if (rewards.length === 0 && !previews) return out; // nothing to decode for
    for (const r of rewards) if (!this.side.rewards.has(r.name)) throw new ValidationError('reward', `unknown reward '${r.name}'`, [...this.side.rewards.keys()].join(' | '));
    const stepOf = (j: number): number => rows.steps[j] as number;
    const totalOf = (j: number): number => rows.totals[j] as number;
    const sizeOf = (j: number): CandidateSize => rows.sizes[j] as CandidateSize;
    const imageAt = offsets(rows.sizes, (s) => 3 * s.height * s.width);
    // a call holds one size (one decoder shape, one preprocessing resize)
    const group = (j: number): string => `${totalOf(j)}/${stepOf(j)}/${sizeKey(sizeOf(j))}`;
    const order = rows.steps.map((_, j) => j).sort((a, b) => totalOf(a) - totalOf(b) || stepOf(a) - stepOf(b) || sizeKey(sizeOf(a)).localeCompare(sizeKey(sizeOf(b))));
    for (let i = 0; i < order.length; ) {
      const first = order[i] as number;
      const [step, total, size] = [stepOf(first), totalOf(first), sizeOf(first)];
      const batch: number[] = [];
      while (i < order.length && batch.length < this.maxBatch && group(order[i] as number) === group(first)) batch.push(order[i++] as number);
      signal?.throwIfAborted();
      const images = await this.decode(this.gather(rows.latents, rows.sizes, batch), batch.map(sizeOf));
      if (previews) {
        const per = 3 * size.height * size.width;
        batch.forEach((j, b) => previews.set(images.subarray(b * per, (b + 1) * per), imageAt[j] as number));
      }
      for (const [ri, r] of rewards.entries()) {
        const scores = await rewardScores(this.side, r, step, total, images, size, batch.map((j) => rows.texts[j] as string), this.missing);
        batch.forEach((j, b) => ((out[ri] as Float64Array)[j] = scores[b] as number));
      }
    }
    return out;
  }

  /** The latents of rows `batch` (of latents laid out per `sizes`), back to back. */
  private gather(latents: Float32Array, sizes: readonly CandidateSize[], batch: readonly number[]): Float32Array {
    const C = this.side.manifest.latent.channels;
    const per = (s: CandidateSize): number => C * s.latentHeight * s.latentWidth;
    const at = offsets(sizes, per);
    const out = new Float32Array(batch.reduce((a, j) => a + per(sizes[j] as CandidateSize), 0));
    let k = 0;
    for (const j of batch) {
      const len = per(sizes[j] as CandidateSize);
      out.set(latents.subarray(at[j] as number, (at[j] as number) + len), k);
      k += len;
    }
    return out;
  }

  /**
   * Decoded images in [-1, 1] of latents of the given sizes (back to back), in row order: [3, H, W] per row,
   * each row at its own size; one decoder call per size.
   */
  async decode(latents: Float32Array, sizes: readonly CandidateSize[]): Promise<Float32Array> {
    const keys = [...new Set(sizes.map(sizeKey))];
    if (keys.length <= 1) {
      const s = sizes[0];
      return s ? decodeLatents(this.side, latents, sizes.length, s.latentHeight, s.latentWidth) : new Float32Array(0);
    }
    const out = new Float32Array(imageFloats(sizes));
    const imageAt = offsets(sizes, (s) => 3 * s.height * s.width);
    for (const key of keys) {
      const batch = sizes.map((_, j) => j).filter((j) => sizeKey(sizes[j] as CandidateSize) === key);
      const s = sizes[batch[0] as number] as CandidateSize;
      const images = await decodeLatents(this.side, this.gather(latents, sizes, batch), batch.length, s.latentHeight, s.latentWidth);
      const per = 3 * s.height * s.width;
      batch.forEach((j, b) => out.set(images.subarray(b * per, (b + 1) * per), imageAt[j] as number));
    }
    return out;
  }

  async close(): Promise<void> {
    // only this side's sessions: in one thread the pipeline closes the denoising side
    await Promise.all(bundleSessions({ decoder: this.side.decoder, rewards: this.side.rewards }).map((s) => s.close()));
  }
}
