import { ValidationError } from '../../core/errors.js';
import type { RewardSpec } from '../../core/contract/backend-info.js';
import { loadSide, bundleSessions, type ScoreSide } from './bundle.js';
import { decodeLatents, rewardScores, type MissingVariant } from './model-calls.js';
import type { PipelineOptions } from './pipeline.js';

/**
 * Candidates to score, row j back to back: the latent to decode (Tweedie estimate, or the sample at S-1), its
 * step, its sampling steps S (its own, or the worker's) and its prompt text.
 */
export interface ScoreRows {
  readonly latents: Float32Array;
  readonly steps: readonly number[];
  readonly totals: readonly number[];
  readonly texts: readonly string[];
}

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

  /** Floats of one decoded image (3 * H * W). */
  get imageSize(): number {
    const { height, width } = this.side.manifest.image;
    return 3 * height * width;
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
    const n = rows.latents.length / Math.max(1, rows.steps.length);
    const stepOf = (j: number): number => rows.steps[j] as number;
    const totalOf = (j: number): number => rows.totals[j] as number;
    const order = rows.steps.map((_, j) => j).sort((a, b) => totalOf(a) - totalOf(b) || stepOf(a) - stepOf(b));
    for (let i = 0; i < order.length; ) {
      const [step, total] = [stepOf(order[i] as number), totalOf(order[i] as number)];
      const batch: number[] = [];
      while (i < order.length && batch.length < this.maxBatch && stepOf(order[i] as number) === step && totalOf(order[i] as number) === total) batch.push(order[i++] as number);
      signal?.throwIfAborted();
      const latents = new Float32Array(batch.length * n);
      batch.forEach((j, b) => latents.set(rows.latents.subarray(j * n, (j + 1) * n), b * n));
      const images = await this.decode(latents, batch.length);
      if (previews) {
        const per = images.length / batch.length;
        batch.forEach((j, b) => previews.set(images.subarray(b * per, (b + 1) * per), j * per));
      }
      for (const [ri, r] of rewards.entries()) {
        const scores = await rewardScores(this.side, r, step, total, images, batch.map((j) => rows.texts[j] as string), this.missing);
        batch.forEach((j, b) => ((out[ri] as Float64Array)[j] = scores[b] as number));
      }
    }
    return out;
  }

  /** Decoded images [B, 3, H, W] in [-1, 1] of B latents. */
  decode(latents: Float32Array, B: number): Promise<Float32Array> {
    return decodeLatents(this.side, latents, B);
  }

  async close(): Promise<void> {
    // only this side's sessions: in one thread the pipeline closes the denoising side
    await Promise.all(bundleSessions({ decoder: this.side.decoder, rewards: this.side.rewards }).map((s) => s.close()));
  }
}
