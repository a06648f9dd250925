import { join } from 'node:path';
import { parseCostSpec } from '../../core/engine/cost-model.js';
import { encodePng } from '../../core/image/png.js';
import { tensorToRaster } from '../../core/image/raster.js';
import { ValidationError } from '../../core/errors.js';
import { parseNumberIn } from '../../core/number-range.js';
import type { AdvanceItem, BackendHooks, BackendOptions, CandidateSpec, PreviewSink, WorkerBackend } from '../backend.js';
import type { BackendInfo, RewardSpec } from '../../core/contract/backend-info.js';
import type { CandidateKey } from '../../core/contract/candidates.js';
import { InferenceHost } from '../onnx/host.js';
import { packageRoot } from '../../core/package-root.js';
import type { PipelineOptions } from '../onnx/pipeline.js';
import type { ScoreRows } from '../onnx/scorer.js';
import type { ImageSize } from '../onnx/model-calls.js';
import { availableParallelism, homedir } from 'node:os';
import { DEFAULT_RUNTIME, parseGraphOptimization, type ActiveProvider, type OrtRuntime, type Provider } from '../onnx/runtime-options.js';

/**
 * The `onnx` backend: the real diffusion and reward pipeline (worker/onnx) in an inference thread. Steps of
 * live candidates are mirrored here so that stepOf/liveKeys answer without a round trip.
 */
export class OnnxBackend implements WorkerBackend {
  readonly info: BackendInfo;
  readonly provider: ActiveProvider;
  /** decode and rewards run in a score thread, so the runtime may score beside an advance */
  readonly overlapsScoring: boolean;
  private readonly steps = new Map<CandidateKey, number>();
  /** sampling steps of candidates whose settings give them their own (others run info.steps) */
  private readonly stepCounts = new Map<CandidateKey, number>();
  /** image sizes of candidates whose settings give them their own (others sample at the bundle's) */
  private readonly sizes = new Map<CandidateKey, ImageSize>();

  constructor(
    readonly host: InferenceHost,
    private readonly previews?: PreviewSink,
    cost?: { readonly denoise: number; readonly verify: number },
  ) {
    const i = host.info;
    this.provider = i.provider;
    this.overlapsScoring = host.hasScoreThread;
    const main = i.defaultRewards[0];
    if (main === undefined) throw new ValidationError('--model', `bundle ${i.model} has no reward`, 'a bundle with a reward (ttsnap models add-reward DIR NAME REWARD_DIR)');
    this.info = {
      backend: 'onnx',
      steps: i.steps,
      maxBatch: i.maxBatch,
      rewards: [...i.defaultRewards, ...i.rewards.filter((r) => !i.defaultRewards.includes(r))],
      cost: cost ?? { denoise: i.cost.denoise, verify: i.cost.verify[main] ?? 0 },
      tracePrompts: 0,
      traceCandidates: 0,
      renders: true,
      model: i.model,
      sampling: i.sampling,
    };
  }

  async create(specs: readonly CandidateSpec[], signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    await this.host.call('create', [specs]);
    const own = this.host.info.image;
    for (const s of specs) {
      this.steps.set(s.key, -1);
      this.countSteps(s.key, s.sampling?.steps || this.info.steps);
      this.noteSize(s.key, { height: s.sampling?.height || own.height, width: s.sampling?.width || own.width });
    }
  }

  private noteSize(key: CandidateKey, size: ImageSize): void {
    const own = this.host.info.image;
    if (size.height === own.height && size.width === own.width) this.sizes.delete(key);
    else this.sizes.set(key, size);
  }

  /** A live candidate's image size (its own, or the bundle's). */
  sizeOf(key: CandidateKey): ImageSize {
    return this.sizes.get(key) ?? this.host.info.image;
  }

  private countSteps(key: CandidateKey, steps: number): void {
    if (steps === this.info.steps) this.stepCounts.delete(key);
    else this.stepCounts.set(key, steps);
  }

  stepCountOf(key: CandidateKey): number | undefined {
    return this.stepCounts.get(key) ?? (this.steps.has(key) ? this.info.steps : undefined);
  }

  async advance(items: readonly AdvanceItem[], signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    await this.host.call('advance', [items]);
    for (const it of items) this.steps.set(it.key, it.toStep);
  }

  async score(keys: readonly CandidateKey[], rewards: readonly RewardSpec[], signal?: AbortSignal): Promise<Float64Array[]> {
    signal?.throwIfAborted();
    const sink = this.previews;
    if (!sink || (sink.wants && !keys.some((k) => sink.wants?.(k)))) return this.scoreCall<Float64Array[]>(keys, rewards, false);
    const r = await this.scoreCall<{ scores: Float64Array[]; previews: Float32Array }>(keys, rewards, true);
    let at = 0;
    keys.forEach((k, j) => {
      const scores = Object.fromEntries(rewards.map((rw, i) => [rw.name, r.scores[i]?.[j] ?? Number.NaN]));
      const { height, width } = this.sizeOf(k);
      this.previews?.add(k, this.steps.get(k) ?? -1, r.previews.slice(at, (at += 3 * height * width)), height, width, scores);
    });
    return r.scores;
  }

  /**
   * One score call: in the pipeline thread, or with a score thread, the latents to decode are copied out of the
   * pipeline thread (a quick request, served between denoise calls) and scored in the score thread while the
   * pipeline thread goes on denoising.
   */
  private async scoreCall<T>(keys: readonly CandidateKey[], rewards: readonly RewardSpec[], previews: boolean): Promise<T> {
    if (!this.host.hasScoreThread) return this.host.call<T>('score', [keys, rewards, previews]);
    const rows = await this.host.call<ScoreRows>('scoreRows', [keys]);
    return this.host.callScorer<T>('scoreLatents', [rows, rewards, previews], [rows.latents.buffer as ArrayBuffer]);
  }

  stepOf(key: CandidateKey): number | undefined {
    return this.steps.get(key);
  }

  liveKeys(): readonly CandidateKey[] {
    return [...this.steps.keys()];
  }

  exportState(key: CandidateKey): Promise<Uint8Array> {
    return this.host.call<Uint8Array>('export', [key]);
  }

  async importState(key: CandidateKey, state: Uint8Array): Promise<number> {
    const { step, steps, height, width } = await this.host.call<{ step: number; steps: number; height: number; width: number }>('import', [key, state]);
    this.steps.set(key, step);
    this.countSteps(key, steps);
    this.noteSize(key, { height, width });
    return step;
  }

  release(keys: readonly CandidateKey[]): void {
    for (const k of keys) {
      this.steps.delete(k);
      this.stepCounts.delete(k);
      this.sizes.delete(k);
    }
    // fire and forget: the thread serves requests in order, so later calls never see released keys
    void this.host.call('release', [keys]).catch(() => undefined);
  }

  /**
   * Decoded images in [-1, 1] of the candidates at their current step (Tweedie estimate or final): [3, H, W] per
   * key at its own size (sizeOf), back to back; [B, 3, H, W] where all have the bundle's size.
   */
  async images(keys: readonly CandidateKey[], signal?: AbortSignal): Promise<Float32Array> {
    signal?.throwIfAborted();
    if (!this.host.hasScoreThread) return this.host.call<Float32Array>('images', [keys]);
    const rows = await this.host.call<ScoreRows>('scoreRows', [keys]);
    return this.host.callScorer<Float32Array>('decodeLatents', [rows], [rows.latents.buffer as ArrayBuffer]);
  }

  async render(key: CandidateKey, signal?: AbortSignal): Promise<Uint8Array> {
    const img = await this.images([key], signal);
    const { height, width } = this.sizeOf(key);
    return encodePng(tensorToRaster(img, 0, height, width));
  }

  async close(): Promise<void> {
    this.steps.clear();
    this.stepCounts.clear();
    this.sizes.clear();
    await this.host.close();
  }
}

/** The bundled tiny model: models/tiny under the package root. */
export function defaultBundleDir(): string {
  return join(packageRoot(), 'models', 'tiny');
}

/** The optimised-model cache when --ort-cache is not given: $XDG_CACHE_HOME/ttsnap/onnx, else ~/.cache/ttsnap/onnx. */
export function defaultOrtCache(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ttsnap', 'onnx');
}

/**
 * Compiles the CLI's backend options: --model DIR --provider P --threads N --max-batch K --guidance G --steps S
 * --negative-prompt T, and onnxruntime's: --graph-optimization L --ort-cache DIR|off --device-id N --tf32 on|off,
 * --score-thread on|off|auto.
 */
export function compileOnnxOptions(opts: BackendOptions): PipelineOptions {
  const str = (k: string): string | undefined => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined);
  const num = (k: string, flag: string, min: number, max: number, integer: boolean): number | undefined => {
    const raw = str(k);
    return raw === undefined ? undefined : parseNumberIn(flag, raw, { min, max, integer });
  };
  const provider = str('provider') ?? 'auto';
  if (!['auto', 'cpu', 'cuda', 'tensorrt'].includes(provider)) throw new ValidationError('--provider', `got '${provider}'`, 'auto | cpu | cuda | tensorrt');
  const tf32 = str('tf32') ?? 'on';
  if (tf32 !== 'on' && tf32 !== 'off') throw new ValidationError('--tf32', `got '${tf32}'`, 'on | off');
  const cache = str('ortCache') ?? defaultOrtCache();
  const runtime: OrtRuntime = {
    graphOptimization: parseGraphOptimization(str('graphOptimization') ?? DEFAULT_RUNTIME.graphOptimization),
    cacheDir: cache === 'off' ? null : cache,
    deviceId: num('deviceId', '--device-id', 0, 64, true) ?? DEFAULT_RUNTIME.deviceId,
    tf32: tf32 === 'on',
  };
  const threads = num('threads', '--threads', 0, 256, true) ?? 0;
  const scoreThread = str('scoreThread') ?? 'auto';
  if (!['on', 'off', 'auto'].includes(scoreThread)) throw new ValidationError('--score-thread', `got '${scoreThread}'`, 'on | off | auto');
  const guidance = num('guidance', '--guidance', 0, 100, false);
  const steps = num('steps', '--steps', 2, 1000, true);
  const negativePrompt = str('negativePrompt');
  const missingVariant = str('missingVariant') ?? 'refuse';
  if (missingVariant !== 'refuse' && missingVariant !== 'base') throw new ValidationError('--missing-variant', `got '${missingVariant}'`, 'refuse | base');
  return {
    bundle: str('model') ?? defaultBundleDir(),
    provider: provider as Provider,
    threads,
    runtime,
    scoreThread: scoreThread === 'on' || (scoreThread === 'auto' && scoreThreadHelps(provider, threads)),
    maxBatch: num('maxBatch', '--max-batch', 1, 4096, true) ?? 8,
    ...(guidance !== undefined ? { guidance } : {}),
    ...(steps !== undefined ? { steps } : {}),
    ...(negativePrompt !== undefined ? { negativePrompt } : {}),
    missingVariant,
    ...(str('mixedSteps') === 'false' ? { mixedSteps: false } : {}),
  };
}

/**
 * `--score-thread auto`: a second inference thread for decode and rewards where it can run beside denoising:
 * on a GPU (the two threads' kernels and copies overlap), or on the CPU when both threads' intra-op pools fit
 * the cores (--threads N with 2N <= cores; onnxruntime's default pool already takes every core).
 */
export function scoreThreadHelps(provider: string, threads: number): boolean {
  return provider === 'cuda' || provider === 'tensorrt' || (threads > 0 && 2 * threads <= availableParallelism());
}

/** Factory for the registry; `hooks.previews` receives the scored images (contact sheets), `hooks.log` the loading lines. */
export async function createOnnxBackend(opts: BackendOptions, hooks: BackendHooks = {}): Promise<WorkerBackend> {
  // --cost overrides the bundle's figures (e.g. measured cost in another unit)
  const cost = typeof opts.cost === 'string' ? parseCostSpec(opts.cost, '--cost') : undefined;
  const pipeline = compileOnnxOptions(opts);
  return new OnnxBackend(await InferenceHost.start(pipeline, hooks.log), hooks.previews, cost && { denoise: cost.denoise, verify: cost.verify });
}
