import { initialNoise } from '../../core/diffusion/noise.js';
import { ValidationError } from '../../core/errors.js';
import type { AdvanceItem, CandidateSpec } from '../backend.js';
import type { CandidateKey } from '../../core/contract/candidates.js';
import type { RewardSpec } from '../../core/contract/backend-info.js';
import { bundleSessions, loadBundle, loadSide, type DenoiseSide } from './bundle.js';
import { denoiseStep } from './model-calls.js';
import { Scorer, type ScoreRows } from './scorer.js';
import type { OrtRuntime, Provider } from './runtime-options.js';
import type { Conditioning } from './text-encoders.js';
import { decodeState, encodeState } from './state.js';

/** How a pipeline runs; the CLI and the backend factory fill it (defaults in brackets). */
export interface PipelineOptions {
  readonly bundle: string;
  /** [auto]: cuda when it loads, else cpu */
  readonly provider: Provider;
  /** intra-op threads per session [0 = onnxruntime's default] */
  readonly threads: number;
  /** graph optimisation level, optimised-model cache, device id, TF32 [DEFAULT_RUNTIME: all, no cache, 0, on] */
  readonly runtime?: OrtRuntime;
  /** candidates per denoise / reward call [8] */
  readonly maxBatch: number;
  /** classifier-free guidance scale [manifest sampling.guidance_scale]; <= 1 runs the conditional pass only */
  readonly guidance?: number;
  /** [manifest sampling.negative_prompt] */
  readonly negativePrompt?: string;
  /** sampling steps [manifest sampling.steps]; noise-aware variants are remapped by noise level or refused */
  readonly steps?: number;
  /** a noise-aware score at a step without a variant: refuse [default] or score with the base reward, warned */
  readonly missingVariant?: 'refuse' | 'base';
  /** [true]: one call mixes steps where the denoiser takes a [B] timestep; false splits by step (bench:worker's baseline) */
  readonly mixedSteps?: boolean;
  /**
   * [false]: decode and reward calls run in a second inference thread beside denoising (InferenceHost with two
   * threads); this thread then loads the denoising side only and hands latents out for scoring
   */
  readonly scoreThread?: boolean;
}

interface Candidate {
  readonly spec: CandidateSpec;
  step: number;
  latent: Float32Array;
  x0: Float32Array | null;
}

interface PromptText {
  readonly cond: Conditioning;
  refs: number;
}

/**
 * The diffusion and reward pipeline over one bundle, with candidates' latents held here. Runs inside the
 * inference thread (worker/onnx/thread.ts); the operations mirror WorkerBackend. A candidate's result depends
 * only on its seed, prompt and steps: every per-candidate computation is elementwise or per batch row.
 */
export class OnnxPipeline {
  private readonly live = new Map<CandidateKey, Candidate>();
  private readonly texts = new Map<string, PromptText>();
  private uncond: Conditioning | null = null;
  readonly guidance: number;
  private readonly latentSize: number;

  private constructor(
    readonly bundle: DenoiseSide,
    private readonly opts: PipelineOptions,
    /** decode and rewards in this thread; null where a score thread has them */
    readonly scorer: Scorer | null,
  ) {
    this.guidance = opts.guidance ?? bundle.manifest.sampling.guidance_scale;
    const l = bundle.manifest.latent;
    this.latentSize = l.channels * l.height * l.width;
  }

  static async load(opts: PipelineOptions, log: (line: string) => void): Promise<OnnxPipeline> {
    if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1) throw new ValidationError('--max-batch', `got ${opts.maxBatch}`, 'an integer >= 1');
    const sessionOpts = { provider: opts.provider, threads: opts.threads, log, ...(opts.runtime ? { runtime: opts.runtime } : {}) };
    let bundle: DenoiseSide;
    let scorer: Scorer | null = null;
    if (opts.scoreThread) bundle = await loadSide(opts.bundle, sessionOpts, opts.steps, 'denoise');
    else {
      const full = await loadBundle(opts.bundle, sessionOpts, opts.steps);
      bundle = full;
      scorer = new Scorer(full, opts.maxBatch, opts.missingVariant ?? 'refuse', log);
    }
    const d = bundle.denoiser;
    log(`onnx: bundle ${bundle.manifest.name} (${bundle.dir}, layout ${d.kind}) on execution provider ${bundle.provider}, ${bundle.scheduler.kind} ${bundle.scheduler.steps} steps, ${d.mixedSteps ? 'mixed-step batches ([B] timestep)' : 'batches grouped by step (scalar timestep)'}${opts.scoreThread ? ', decode and rewards in a second inference thread' : ''}`);
    const p = new OnnxPipeline(bundle, opts, scorer);
    // the unconditional pass exists only where guidance doubles the batch
    p.uncond = await bundle.text.negative(d.doublesForGuidance ? (opts.negativePrompt ?? bundle.manifest.sampling.negative_prompt) : '');
    return p;
  }

  get steps(): number {
    return this.bundle.scheduler.steps;
  }

  /** The float type prompt conditioning is cached in (the denoiser's: float16 for fp16 models). */
  get conditioningType(): 'float32' | 'float16' {
    return this.bundle.text.type;
  }

  /** Creates candidates at step -1 from their seeds (encoding prompt texts not yet held). */
  async create(specs: readonly CandidateSpec[]): Promise<void> {
    await this.prepareTexts(specs);
    const s = this.bundle.scheduler;
    for (const spec of specs) {
      const latent = initialNoise(spec.seed, this.latentSize);
      if (s.initNoiseSigma !== 1) for (let i = 0; i < latent.length; i++) latent[i] = (latent[i] as number) * s.initNoiseSigma;
      this.put(spec, -1, latent, null);
    }
  }

  /** Text embeddings of the prompts the candidates need (cached by text while a candidate uses it). */
  async prepareTexts(specs: readonly CandidateSpec[]): Promise<void> {
    const missing = [...new Set(specs.map((s) => s.text))].filter((t) => !this.texts.has(t));
    for (let i = 0; i < missing.length; i += this.opts.maxBatch) {
      const chunk = missing.slice(i, i + this.opts.maxBatch);
      const conds = await this.bundle.text.encode(chunk);
      chunk.forEach((t, j) => this.texts.set(t, { cond: conds[j] as Conditioning, refs: 0 }));
    }
  }

  /**
   * Advances each item to its toStep, one step per call: a call mixes candidates at different steps where
   * the denoiser takes per-row timesteps, else it batches candidates that stand at the same step.
   */
  async advance(items: readonly AdvanceItem[], signal?: AbortSignal): Promise<void> {
    const target = new Map<CandidateKey, number>();
    for (const it of items) {
      const c = this.get(it.key);
      if (!Number.isInteger(it.toStep) || it.toStep <= c.step || it.toStep >= this.steps) {
        throw new ValidationError('toStep', `${it.key} is at step ${c.step}, asked for ${it.toStep}`, `an integer in [${c.step + 1}, ${this.steps - 1}]`);
      }
      target.set(it.key, it.toStep);
    }
    const mixed = this.bundle.denoiser.mixedSteps && this.opts.mixedSteps !== false;
    for (;;) {
      const due = [...target].map(([key, to]) => [this.get(key), to] as const).filter(([c, to]) => c.step < to).map(([c]) => c);
      if (due.length === 0) return;
      due.sort((a, b) => a.step - b.step);
      const groups: Candidate[][] = [];
      for (const c of due) {
        const g = groups[groups.length - 1];
        if (g && (mixed || (g[0] as Candidate).step === c.step)) g.push(c);
        else groups.push([c]);
      }
      for (const group of groups) {
        for (let i = 0; i < group.length; i += this.opts.maxBatch) {
          signal?.throwIfAborted();
          await this.denoise(group.slice(i, i + this.opts.maxBatch));
        }
      }
    }
  }

  /**
   * Scores at each candidate's current step; one Float64Array per reward, aligned with keys. `previews`, when
   * given, receives the decoded images the rewards saw ([B, 3, H, W] in [-1, 1], one row per keys[j]).
   */
  async score(keys: readonly CandidateKey[], rewards: readonly RewardSpec[], signal?: AbortSignal, previews?: Float32Array): Promise<Float64Array[]> {
    return this.localScorer().score(this.scoreRows(keys), rewards, signal, previews);
  }

  /**
   * What scoring the candidates needs: each one's latent to decode (the Tweedie estimate at its current step, the
   * final sample at S-1), step and prompt text; copied, so later steps never change them.
   */
  scoreRows(keys: readonly CandidateKey[]): ScoreRows {
    const cands = keys.map((k) => this.get(k));
    for (const c of cands) if (c.step < 0) throw new RangeError(`${c.spec.key} has not been denoised yet`);
    return { latents: this.latentsToDecode(cands), steps: cands.map((c) => c.step), texts: cands.map((c) => c.spec.text) };
  }

  private latentsToDecode(cands: readonly Candidate[]): Float32Array {
    const n = this.latentSize;
    const latents = new Float32Array(cands.length * n);
    cands.forEach((c, b) => latents.set(c.step === this.steps - 1 || !c.x0 ? c.latent : c.x0, b * n));
    return latents;
  }

  private localScorer(): Scorer {
    if (!this.scorer) throw new Error('decode and rewards run in the score thread here');
    return this.scorer;
  }

  /** Floats of one decoded image (3 * H * W). */
  get imageSize(): number {
    const { height, width } = this.bundle.manifest.image;
    return 3 * height * width;
  }

  /** Decoded images of live candidates by key (for renders and contact sheets): the Tweedie estimate, or the final sample at S-1. */
  async images(keys: readonly CandidateKey[]): Promise<Float32Array> {
    const cands = keys.map((k) => this.get(k));
    return this.localScorer().decode(this.latentsToDecode(cands), cands.length);
  }

  stepOf(key: CandidateKey): number | undefined {
    return this.live.get(key)?.step;
  }

  exportState(key: CandidateKey): Uint8Array {
    const c = this.get(key);
    const s = c.spec;
    return encodeState({ model: this.bundle.manifest.name, prompt: s.prompt, text: s.text, candidate: s.candidate, seed: s.seed, step: c.step, latent: c.latent, x0: c.x0 });
  }

  async importState(key: CandidateKey, bytes: Uint8Array): Promise<number> {
    const s = decodeState(bytes, this.bundle.manifest.name);
    if (s.latent.length !== this.latentSize || s.step >= this.steps) throw new ValidationError('state', `latent of ${s.latent.length} at step ${s.step}`, `${this.latentSize} floats at a step < ${this.steps}`);
    const spec: CandidateSpec = { key, prompt: s.prompt, text: s.text, candidate: s.candidate, seed: s.seed };
    await this.prepareTexts([spec]);
    this.put(spec, s.step, s.latent, s.x0);
    return s.step;
  }

  release(keys: readonly CandidateKey[]): void {
    for (const k of keys) {
      const c = this.live.get(k);
      if (!c) continue;
      this.live.delete(k);
      const t = this.texts.get(c.spec.text);
      if (t && --t.refs <= 0) this.texts.delete(c.spec.text);
    }
  }

  async close(): Promise<void> {
    this.live.clear();
    await Promise.all([...bundleSessions({ text: this.bundle.text, denoiser: this.bundle.denoiser }).map((s) => s.close()), this.scorer?.close()]);
  }

  private put(spec: CandidateSpec, step: number, latent: Float32Array, x0: Float32Array | null): void {
    const text = this.texts.get(spec.text);
    if (!text) throw new Error(`prompt text of ${spec.key} was not prepared`);
    this.release([spec.key]);
    text.refs++;
    this.texts.set(spec.text, text);
    this.live.set(spec.key, { spec, step, latent, x0 });
  }

  private get(key: CandidateKey): Candidate {
    const c = this.live.get(key);
    if (!c) throw new RangeError(`candidate ${key} is not held by this worker`);
    return c;
  }

  /** One step of each candidate in the batch (each from its own current step). */
  private async denoise(batch: readonly Candidate[]): Promise<void> {
    const n = this.latentSize;
    const x = new Float32Array(batch.length * n);
    batch.forEach((c, i) => x.set(c.latent, i * n));
    const cond = batch.map((c) => (this.texts.get(c.spec.text) as PromptText).cond);
    const steps = batch.map((c) => c.step + 1);
    const { next, x0 } = await denoiseStep(this.bundle, steps, batch.map((c) => c.spec.seed), x, cond, this.uncond as Conditioning, this.guidance);
    batch.forEach((c, i) => {
      c.latent = next.slice(i * n, (i + 1) * n);
      c.x0 = x0.slice(i * n, (i + 1) * n);
      c.step = steps[i] as number;
    });
  }
}
