import { initialNoise } from '../../core/diffusion/noise.js';
import { applyStep } from '../../core/diffusion/scheduler.js';
import { ValidationError } from '../../core/errors.js';
import type { AdvanceItem, CandidateKey, CandidateSpec, RewardSpec } from '../backend.js';
import { loadBundle, type Bundle } from './bundle.js';
import { preprocessImages } from './preprocess.js';
import type { Feed, Provider } from './session.js';
import { decodeState, encodeState } from './state.js';

/** How a pipeline runs; the CLI and the backend factory fill it (defaults in brackets). */
export interface PipelineOptions {
  readonly bundle: string;
  /** [auto]: cuda when it loads, else cpu */
  readonly provider: Provider;
  /** intra-op threads per session [0 = onnxruntime's default] */
  readonly threads: number;
  /** candidates per denoise / reward call [8] */
  readonly maxBatch: number;
  /** classifier-free guidance scale [manifest sampling.guidance_scale]; <= 1 runs the conditional pass only */
  readonly guidance?: number;
  /** [manifest sampling.negative_prompt] */
  readonly negativePrompt?: string;
  /** sampling steps [manifest sampling.steps] */
  readonly steps?: number;
}

interface Candidate {
  readonly spec: CandidateSpec;
  step: number;
  latent: Float32Array;
  x0: Float32Array | null;
}

interface PromptText {
  readonly emb: Float32Array;
  readonly ids: Int32Array;
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
  private uncond: Float32Array | null = null;
  readonly guidance: number;
  private readonly latentSize: number;
  private readonly textSize: number;

  private constructor(
    readonly bundle: Bundle,
    private readonly opts: PipelineOptions,
    textSize: number,
  ) {
    this.guidance = opts.guidance ?? bundle.manifest.sampling.guidance_scale;
    const l = bundle.manifest.latent;
    this.latentSize = l.channels * l.height * l.width;
    this.textSize = textSize;
  }

  static async load(opts: PipelineOptions, log: (line: string) => void): Promise<OnnxPipeline> {
    if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1) throw new ValidationError('--max-batch', `got ${opts.maxBatch}`, 'an integer >= 1');
    const bundle = await loadBundle(opts.bundle, { provider: opts.provider, threads: opts.threads, log }, opts.steps);
    log(`onnx: bundle ${bundle.manifest.name} (${bundle.dir}) on execution provider ${bundle.provider}, ${bundle.scheduler.kind} ${bundle.scheduler.steps} steps`);
    const probe = new OnnxPipeline(bundle, opts, 0);
    const emb = await probe.encode(['']);
    const p = new OnnxPipeline(bundle, opts, emb.length);
    p.uncond = await p.encode([opts.negativePrompt ?? bundle.manifest.sampling.negative_prompt]);
    return p;
  }

  get steps(): number {
    return this.bundle.scheduler.steps;
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
      const emb = await this.encode(chunk);
      chunk.forEach((t, j) => this.texts.set(t, { emb: emb.slice(j * this.textSize, (j + 1) * this.textSize), ids: this.bundle.tokenizer.encode(t), refs: 0 }));
    }
  }

  /** Advances each item to its toStep, batching candidates that stand at the same step. */
  async advance(items: readonly AdvanceItem[], signal?: AbortSignal): Promise<void> {
    const target = new Map<CandidateKey, number>();
    for (const it of items) {
      const c = this.get(it.key);
      if (!Number.isInteger(it.toStep) || it.toStep <= c.step || it.toStep >= this.steps) {
        throw new ValidationError('toStep', `${it.key} is at step ${c.step}, asked for ${it.toStep}`, `an integer in [${c.step + 1}, ${this.steps - 1}]`);
      }
      target.set(it.key, it.toStep);
    }
    for (;;) {
      const byStep = new Map<number, Candidate[]>();
      for (const [key, to] of target) {
        const c = this.get(key);
        if (c.step >= to) continue;
        const group = byStep.get(c.step + 1) ?? [];
        group.push(c);
        byStep.set(c.step + 1, group);
      }
      if (byStep.size === 0) return;
      for (const [step, group] of [...byStep].sort((a, b) => a[0] - b[0])) {
        for (let i = 0; i < group.length; i += this.opts.maxBatch) {
          signal?.throwIfAborted();
          await this.denoise(step, group.slice(i, i + this.opts.maxBatch));
        }
      }
    }
  }

  /**
   * Scores at each candidate's current step; one Float64Array per reward, aligned with keys. `previews`, when
   * given, receives the decoded images the rewards saw ([B, 3, H, W] in [-1, 1], one row per keys[j]).
   */
  async score(keys: readonly CandidateKey[], rewards: readonly RewardSpec[], signal?: AbortSignal, previews?: Float32Array): Promise<Float64Array[]> {
    const out = rewards.map(() => new Float64Array(keys.length));
    const cands = keys.map((k) => this.get(k));
    if (rewards.length === 0 && !previews) return out; // nothing to decode for
    for (const c of cands) if (c.step < 0) throw new RangeError(`${c.spec.key} has not been denoised yet`);
    for (const r of rewards) if (!this.bundle.rewards.has(r.name)) throw new ValidationError('reward', `unknown reward '${r.name}'`, [...this.bundle.rewards.keys()].join(' | '));
    // a batch shares the reward session, hence the step; order rows by step to keep batches full
    const order = keys.map((_, j) => j).sort((a, b) => (cands[a] as Candidate).step - (cands[b] as Candidate).step);
    for (let i = 0; i < order.length; ) {
      const step = (cands[order[i] as number] as Candidate).step;
      const rows: number[] = [];
      while (i < order.length && rows.length < this.opts.maxBatch && (cands[order[i] as number] as Candidate).step === step) rows.push(order[i++] as number);
      signal?.throwIfAborted();
      const images = await this.decode(rows.map((j) => cands[j] as Candidate));
      if (previews) {
        const per = images.length / rows.length;
        rows.forEach((j, b) => previews.set(images.subarray(b * per, (b + 1) * per), j * per));
      }
      for (const [ri, r] of rewards.entries()) {
        const scores = await this.reward(r, step, images, rows.map((j) => cands[j] as Candidate));
        rows.forEach((j, b) => ((out[ri] as Float64Array)[j] = scores[b] as number));
      }
    }
    return out;
  }

  /** Decoded images [B, 3, H, W] in [-1, 1]: the Tweedie estimate at the current step, the final sample at S-1. */
  async decode(cands: readonly Candidate[]): Promise<Float32Array> {
    const n = this.latentSize;
    const f = this.bundle.manifest.latent.scaling_factor;
    const data = new Float32Array(cands.length * n);
    cands.forEach((c, b) => {
      const src = c.step === this.steps - 1 || !c.x0 ? c.latent : c.x0;
      for (let i = 0; i < n; i++) data[b * n + i] = (src[i] as number) / f;
    });
    const l = this.bundle.manifest.latent;
    const [img] = await this.bundle.decoder.run({ latent_sample: { kind: 'float', data, dims: [cands.length, l.channels, l.height, l.width] } }, ['sample']);
    return (img as { data: Float32Array }).data;
  }

  /** Floats of one decoded image (3 * H * W). */
  get imageSize(): number {
    const { height, width } = this.bundle.manifest.image;
    return 3 * height * width;
  }

  /** Decoded images of live candidates by key (for renders and contact sheets). */
  async images(keys: readonly CandidateKey[]): Promise<Float32Array> {
    return this.decode(keys.map((k) => this.get(k)));
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
    const b = this.bundle;
    const sessions = [b.textEncoder, b.unet, b.decoder, ...[...b.rewards.values()].flatMap((r) => [r.base, ...r.byStep.values()])];
    await Promise.all(sessions.map((s) => s.close()));
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

  private async encode(texts: readonly string[]): Promise<Float32Array> {
    const L = this.bundle.tokenizer.maxLength;
    const ids = new Int32Array(texts.length * L);
    texts.forEach((t, i) => ids.set(this.bundle.tokenizer.encode(t), i * L));
    const [h] = await this.bundle.textEncoder.run({ input_ids: { kind: 'ids', data: ids, dims: [texts.length, L] } }, ['last_hidden_state']);
    return (h as { data: Float32Array }).data;
  }

  /** One denoise step for a batch at the same step: [uncond x B, cond x B] through the UNet, then CFG and the scheduler. */
  private async denoise(step: number, batch: readonly Candidate[]): Promise<void> {
    const b = this.bundle;
    const s = b.scheduler;
    const B = batch.length;
    const n = this.latentSize;
    const cfg = this.guidance > 1;
    const rows = cfg ? 2 * B : B;
    const scale = s.inputScale(step);
    const x = new Float32Array(B * n);
    batch.forEach((c, i) => x.set(c.latent, i * n));
    const sample = new Float32Array(rows * n);
    for (let i = 0; i < B * n; i++) sample[i] = (x[i] as number) * scale;
    if (cfg) sample.copyWithin(B * n, 0, B * n);
    const T = this.textSize;
    const text = new Float32Array(rows * T);
    batch.forEach((c, i) => {
      const t = this.texts.get(c.spec.text) as PromptText;
      if (cfg) {
        text.set(this.uncond as Float32Array, i * T);
        text.set(t.emb, (B + i) * T);
      } else text.set(t.emb, i * T);
    });
    const l = b.manifest.latent;
    const io = b.denoiserInputs;
    const [res] = await b.unet.run(
      {
        [io.sample]: { kind: 'float', data: sample, dims: [rows, l.channels, l.height, l.width] },
        [io.timestep]: { kind: 'timestep', value: (s.timesteps[step] as number) * b.manifest.sampling.timestep_scale, batch: rows },
        [io.text]: { kind: 'float', data: text, dims: [rows, b.tokenizer.maxLength, T / b.tokenizer.maxLength] },
      },
      [io.out],
    );
    const raw = (res as { data: Float32Array }).data;
    let out = raw;
    if (cfg) {
      out = new Float32Array(B * n);
      const g = this.guidance;
      for (let i = 0; i < B * n; i++) {
        const u = raw[i] as number;
        out[i] = u + g * ((raw[B * n + i] as number) - u);
      }
    }
    const next = new Float32Array(B * n);
    const x0 = new Float32Array(B * n);
    applyStep(s.coefficients(step), x, out, next, x0);
    batch.forEach((c, i) => {
      c.latent = next.slice(i * n, (i + 1) * n);
      c.x0 = x0.slice(i * n, (i + 1) * n);
      c.step = step;
    });
  }

  private async reward(r: RewardSpec, step: number, images: Float32Array, cands: readonly Candidate[]): Promise<Float32Array> {
    const sessions = this.bundle.rewards.get(r.name);
    const spec = this.bundle.manifest.rewards[r.name];
    if (!sessions || !spec) throw new ValidationError('reward', `unknown reward '${r.name}'`, [...this.bundle.rewards.keys()].join(' | '));
    // the noise-aware variant trained on this step's Tweedie estimate, else the base model
    const session = (r.noiseAware && step < this.steps - 1 ? sessions.byStep.get(step) : undefined) ?? sessions.base;
    const { height, width } = this.bundle.manifest.image;
    const B = cands.length;
    const p = spec.preprocess;
    const feeds: Record<string, Feed> = {
      [spec.inputs.image]: { kind: 'float', data: preprocessImages(images, B, height, width, p), dims: [B, 3, p.crop, p.crop] },
    };
    if (spec.kind === 'image_text') {
      const L = this.bundle.tokenizer.maxLength;
      const ids = new Int32Array(B * L);
      cands.forEach((c, i) => ids.set((this.texts.get(c.spec.text) as PromptText).ids, i * L));
      feeds[spec.inputs.text as string] = { kind: 'ids', data: ids, dims: [B, L] };
    }
    const [score] = await session.run(feeds, [spec.output]);
    return (score as { data: Float32Array }).data;
  }
}
