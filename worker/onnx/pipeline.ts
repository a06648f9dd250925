import { initialNoise } from '../../core/diffusion/noise.js';
import { ValidationError } from '../../core/errors.js';
import type { AdvanceItem, CandidateSpec } from '../backend.js';
import type { CandidateKey } from '../../core/contract/candidates.js';
import type { RewardSpec } from '../../core/contract/backend-info.js';
import { bundleSessions, loadBundle, loadSide, type DenoiseSide } from './bundle.js';
import { denoiseStep } from './model-calls.js';
import { imageFloats, Scorer, type ScoreRows } from './scorer.js';
import type { OrtRuntime, Provider } from './runtime-options.js';
import type { Conditioning } from './text-encoders.js';
import { decodeState, encodeState } from './state.js';
import { candidateSampler, decoderTakesSizes, denoiserSizeRule, samplerSettings, type CandidateSampler, type CandidateSize, type SamplerDefaults, type SizeRule } from './candidate-sampling.js';

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
  readonly sampler: CandidateSampler;
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
 * only on its seed, prompt, steps and sampling settings (guidance, negative prompt, step count, size): every
 * per-candidate computation is elementwise or per batch row, and a denoise, decode or reward call only holds
 * candidates that agree on whether guidance doubles their rows and on their size.
 */
export class OnnxPipeline {
  private readonly live = new Map<CandidateKey, Candidate>();
  private readonly texts = new Map<string, PromptText>();
  /** negative prompts' conditioning, by text, while a guided candidate uses it */
  private readonly negatives = new Map<string, PromptText>();
  readonly guidance: number;
  readonly defaults: SamplerDefaults;
  /** the sizes candidates may ask for besides the bundle's (null: only its own); with a score thread, the denoiser's alone */
  readonly sizes: SizeRule | null;

  private constructor(
    readonly bundle: DenoiseSide,
    private readonly opts: PipelineOptions,
    /** decode and rewards in this thread; null where a score thread has them */
    readonly scorer: Scorer | null,
  ) {
    this.guidance = opts.guidance ?? bundle.manifest.sampling.guidance_scale;
    this.defaults = { guidance: this.guidance, negativePrompt: opts.negativePrompt ?? bundle.manifest.sampling.negative_prompt };
    const rule = denoiserSizeRule(bundle);
    this.sizes = rule && (!scorer || decoderTakesSizes(scorer.side.decoder)) ? rule : null;
  }

  /** Floats of a latent of this size. */
  private latentFloats(s: CandidateSize): number {
    return this.bundle.manifest.latent.channels * s.latentHeight * s.latentWidth;
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
    return new OnnxPipeline(bundle, opts, scorer);
  }

  get steps(): number {
    return this.bundle.scheduler.steps;
  }

  /** The float type prompt conditioning is cached in (the denoiser's: float16 for fp16 models). */
  get conditioningType(): 'float32' | 'float16' {
    return this.bundle.text.type;
  }

  /** Creates candidates at step -1 from their seeds (encoding prompt texts not yet held). Settings are checked before any is created. */
  async create(specs: readonly CandidateSpec[]): Promise<void> {
    const samplers = specs.map((spec) => candidateSampler(this.bundle, spec.sampling, this.defaults, this.sizes));
    await this.prepareTexts(specs, samplers);
    specs.forEach((spec, j) => {
      const sampler = samplers[j] as CandidateSampler;
      const sigma = sampler.scheduler.initNoiseSigma;
      // a pure function of the seed and the latent's shape
      const latent = initialNoise(spec.seed, this.latentFloats(sampler.size));
      if (sigma !== 1) for (let i = 0; i < latent.length; i++) latent[i] = (latent[i] as number) * sigma;
      this.put(spec, sampler, -1, latent, null);
    });
  }

  /** Text embeddings of the prompts and negative prompts the candidates need (cached by text while a candidate uses it). */
  async prepareTexts(specs: readonly CandidateSpec[], samplers: readonly CandidateSampler[]): Promise<void> {
    const missing = [...new Set(specs.map((s) => s.text))].filter((t) => !this.texts.has(t));
    for (let i = 0; i < missing.length; i += this.opts.maxBatch) {
      const chunk = missing.slice(i, i + this.opts.maxBatch);
      const conds = await this.bundle.text.encode(chunk);
      chunk.forEach((t, j) => this.texts.set(t, { cond: conds[j] as Conditioning, refs: 0 }));
    }
    for (const s of samplers) {
      if (s.cfg && !this.negatives.has(s.negativePrompt)) this.negatives.set(s.negativePrompt, { cond: await this.bundle.text.negative(s.negativePrompt), refs: 0 });
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
      const last = c.sampler.scheduler.steps - 1;
      if (!Number.isInteger(it.toStep) || it.toStep <= c.step || it.toStep > last) {
        throw new ValidationError('toStep', `${it.key} is at step ${c.step}, asked for ${it.toStep}`, `an integer in [${c.step + 1}, ${last}]`);
      }
      target.set(it.key, it.toStep);
    }
    const mixed = this.bundle.denoiser.mixedSteps && this.opts.mixedSteps !== false;
    for (;;) {
      const due = [...target].map(([key, to]) => [this.get(key), to] as const).filter(([c, to]) => c.step < to).map(([c]) => c);
      if (due.length === 0) return;
      due.sort((a, b) => a.step - b.step);
      // a call holds rows that agree on doubling for guidance and on size and, with a scalar timestep, share the timestep
      const groups = new Map<string, Candidate[]>();
      for (const c of due) {
        const common = `${c.sampler.cfg}/${c.sampler.size.latentHeight}x${c.sampler.size.latentWidth}`;
        const key = mixed ? common : `${common}/${c.sampler.scheduler.timesteps[c.step + 1]}`;
        groups.set(key, [...(groups.get(key) ?? []), c]);
      }
      for (const group of groups.values()) {
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
    return { latents: this.latentsToDecode(cands), steps: cands.map((c) => c.step), totals: cands.map((c) => c.sampler.scheduler.steps), texts: cands.map((c) => c.spec.text), sizes: cands.map((c) => c.sampler.size) };
  }

  private latentsToDecode(cands: readonly Candidate[]): Float32Array {
    const latents = new Float32Array(cands.reduce((a, c) => a + c.latent.length, 0));
    let at = 0;
    for (const c of cands) {
      latents.set(c.step === c.sampler.scheduler.steps - 1 || !c.x0 ? c.latent : c.x0, at);
      at += c.latent.length;
    }
    return latents;
  }

  private localScorer(): Scorer {
    if (!this.scorer) throw new Error('decode and rewards run in the score thread here');
    return this.scorer;
  }

  /** Floats of the candidates' decoded images, back to back ([3, H, W] each, at each one's size). */
  imageFloats(keys: readonly CandidateKey[]): number {
    return imageFloats(keys.map((k) => this.get(k).sampler.size));
  }

  /**
   * Decoded images of live candidates by key (for renders and contact sheets): the Tweedie estimate, or the final
   * sample at S-1; [3, H, W] per key at its own size, back to back.
   */
  async images(keys: readonly CandidateKey[]): Promise<Float32Array> {
    const cands = keys.map((k) => this.get(k));
    return this.localScorer().decode(this.latentsToDecode(cands), cands.map((c) => c.sampler.size));
  }

  stepOf(key: CandidateKey): number | undefined {
    return this.live.get(key)?.step;
  }

  /** The candidate's sampling steps (its own, or the worker's). */
  stepCountOf(key: CandidateKey): number | undefined {
    return this.live.get(key)?.sampler.scheduler.steps;
  }

  /** The state names the settings the candidate ran with, all set: another worker resumes it with the same ones whatever its own. */
  exportState(key: CandidateKey): Uint8Array {
    const c = this.get(key);
    const s = c.spec;
    return encodeState({ model: this.bundle.manifest.name, prompt: s.prompt, text: s.text, candidate: s.candidate, seed: s.seed, step: c.step, latent: c.latent, x0: c.x0, sampling: samplerSettings(c.sampler) });
  }

  /** Resumes an exported candidate; returns its step, its sampling steps and its image size. */
  async importState(key: CandidateKey, bytes: Uint8Array): Promise<{ step: number; steps: number; height: number; width: number }> {
    const s = decodeState(bytes, this.bundle.manifest.name);
    const spec: CandidateSpec = { key, prompt: s.prompt, text: s.text, candidate: s.candidate, seed: s.seed, ...(s.sampling ? { sampling: s.sampling } : {}) };
    // the state's settings are all set (an empty negative prompt is one): they stand in for this worker's defaults
    const sampler = candidateSampler(this.bundle, spec.sampling, s.sampling ? { guidance: s.sampling.guidance, negativePrompt: s.sampling.negative_prompt } : this.defaults, this.sizes);
    const steps = sampler.scheduler.steps;
    const n = this.latentFloats(sampler.size);
    if (s.latent.length !== n || s.step >= steps) throw new ValidationError('state', `latent of ${s.latent.length} at step ${s.step}`, `${n} floats at a step < ${steps}`);
    await this.prepareTexts([spec], [sampler]);
    this.put(spec, sampler, s.step, s.latent, s.x0);
    return { step: s.step, steps, height: sampler.size.height, width: sampler.size.width };
  }

  release(keys: readonly CandidateKey[]): void {
    for (const k of keys) {
      const c = this.live.get(k);
      if (!c) continue;
      this.live.delete(k);
      unref(this.texts, c.spec.text);
      if (c.sampler.cfg) unref(this.negatives, c.sampler.negativePrompt);
    }
  }

  async close(): Promise<void> {
    this.live.clear();
    await Promise.all([...bundleSessions({ text: this.bundle.text, denoiser: this.bundle.denoiser }).map((s) => s.close()), this.scorer?.close()]);
  }

  private put(spec: CandidateSpec, sampler: CandidateSampler, step: number, latent: Float32Array, x0: Float32Array | null): void {
    const text = this.texts.get(spec.text);
    const negative = sampler.cfg ? this.negatives.get(sampler.negativePrompt) : null;
    if (!text || negative === undefined) throw new Error(`prompt text of ${spec.key} was not prepared`);
    this.release([spec.key]);
    text.refs++;
    this.texts.set(spec.text, text);
    if (negative) {
      negative.refs++;
      this.negatives.set(sampler.negativePrompt, negative);
    }
    this.live.set(spec.key, { spec, sampler, step, latent, x0 });
  }

  private get(key: CandidateKey): Candidate {
    const c = this.live.get(key);
    if (!c) throw new RangeError(`candidate ${key} is not held by this worker`);
    return c;
  }

  /** One step of each candidate in the batch (each from its own current step). */
  private async denoise(batch: readonly Candidate[]): Promise<void> {
    const size = (batch[0] as Candidate).sampler.size;
    const n = this.latentFloats(size);
    const x = new Float32Array(batch.length * n);
    batch.forEach((c, i) => x.set(c.latent, i * n));
    const cond = batch.map((c) => (this.texts.get(c.spec.text) as PromptText).cond);
    const cfg = (batch[0] as Candidate).sampler.cfg;
    const rows = batch.map((c) => ({
      step: c.step + 1,
      seed: c.spec.seed,
      scheduler: c.sampler.scheduler,
      guidance: c.sampler.guidance,
      uncond: cfg ? (this.negatives.get(c.sampler.negativePrompt) as PromptText).cond : (cond[0] as Conditioning),
    }));
    const { next, x0 } = await denoiseStep(this.bundle, rows, x, cond, cfg, size);
    batch.forEach((c, i) => {
      c.latent = next.slice(i * n, (i + 1) * n);
      c.x0 = x0.slice(i * n, (i + 1) * n);
      c.step = (rows[i] as { step: number }).step;
    });
  }
}

/** Drops one use of a cached conditioning; the last use frees it. */
function unref(cache: Map<string, PromptText>, text: string): void {
  const t = cache.get(text);
  if (t && --t.refs <= 0) cache.delete(text);
}
