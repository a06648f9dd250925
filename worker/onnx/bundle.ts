import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { schedulerFromConfig } from '../../core/diffusion/from-config.js';
import type { DiffusionScheduler } from '../../core/diffusion/scheduler.js';
import { BadFileError } from '../../core/errors.js';
import { Denoiser, detectLayout, LAYOUTS } from './layout.js';
import { dynamicShiftMu } from './dynamic-shift.js';
import { loadManifest, readJson, type Manifest, type RewardManifest } from './manifest.js';
import { checkRewardOutput, rewardInputs } from './reward-contract.js';
import { AdaptedSession, type ActiveProvider, type SessionOptions } from './session.js';
import { TextConditioner } from './text-encoders.js';
import { loadTokenizer, type Tokenizer } from './tokenizer.js';
import { remapStep } from './variants.js';

/** A loaded reward: its manifest entry, base session, noise-aware variants by step index, and its tokenizer. */
export interface RewardSessions {
  readonly name: string;
  readonly spec: RewardManifest;
  readonly base: AdaptedSession;
  readonly byStep: ReadonlyMap<number, AdaptedSession>;
  /** the same variants by the manifest's step index (the steps they were trained on), for other step counts */
  readonly trained: ReadonlyMap<number, AdaptedSession>;
  /** image-text rewards: the reward's own tokenizer (its folder, or the bundle's) */
  readonly tokenizer?: Tokenizer;
}

/** What both sides of a bundle share: its folder, manifest and scheduler, and where its sessions run. */
export interface BundleBase {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly scheduler: DiffusionScheduler;
  readonly provider: ActiveProvider;
  /**
   * the bundle's scheduler for another step count (a candidate's own steps) and, where the config shifts by
   * resolution (FLUX dev), another image token count; `scheduler` for its own
   */
  schedulerFor(steps: number, imageSeqLen?: number): DiffusionScheduler;
  /** the scheduler of the manifest's steps (the steps noise-aware variants were trained on) */
  readonly trainedScheduler: DiffusionScheduler;
}

/** The denoising side: text encoders and the denoiser (the inference thread that holds the latents). */
export interface DenoiseSide extends BundleBase {
  readonly text: TextConditioner;
  readonly denoiser: Denoiser;
}

/** The scoring side: VAE decoder and rewards (a second inference thread can run it beside denoising). */
export interface ScoreSide extends BundleBase {
  readonly decoder: AdaptedSession;
  readonly rewards: ReadonlyMap<string, RewardSessions>;
}

/** Everything a pipeline needs from a bundle, validated: sessions are open and agree with the manifest. */
export type Bundle = DenoiseSide & ScoreSide;

/** Every session of a bundle or of one side (to close them). */
export function bundleSessions(b: Partial<Bundle>): AdaptedSession[] {
  return [...(b.text?.sessions ?? []), ...(b.denoiser ? [b.denoiser.session] : []), ...(b.decoder ? [b.decoder] : []), ...[...(b.rewards?.values() ?? [])].flatMap((r) => [r.base, ...r.byStep.values()])];
}

/** Checks that every file a bundle names exists, before any session opens (so a missing file is reported first). */
export function bundleFiles(dir: string, m: Manifest): string[] {
  const files = [join(dir, 'scheduler', 'scheduler_config.json'), join(dir, 'tokenizer'), join(dir, 'text_encoder', 'model.onnx'), join(dir, LAYOUTS[m.layout].folder, 'model.onnx'), join(dir, 'vae_decoder', 'model.onnx')];
  for (const r of Object.values(m.rewards)) files.push(join(dir, r.file), ...Object.values(r.noise_aware).map((f) => join(dir, f)));
  return files;
}

/**
 * Loads a bundle: manifest, scheduler config, tokenizers, and one session per model, each checked for its
 * input and output names and for shapes that agree with the manifest; the denoiser's inputs must be those of
 * the manifest's layout. Any problem is a BadFileError naming the file and what was expected. `steps`
 * overrides the manifest's sampling steps. `side` loads one side only (each inference thread its own models).
 */
export async function loadBundle(dirIn: string, opts: SessionOptions, steps?: number): Promise<Bundle> {
  const d = await loadSide(dirIn, opts, steps, 'denoise');
  try {
    const sc = await loadSide(dirIn, opts, steps, 'score');
    return { ...d, decoder: sc.decoder, rewards: sc.rewards };
  } catch (err) {
    await Promise.all(bundleSessions(d).map((s) => s.close()));
    throw err;
  }
}

export async function loadSide(dirIn: string, opts: SessionOptions, steps: number | undefined, side: 'denoise'): Promise<DenoiseSide>;
export async function loadSide(dirIn: string, opts: SessionOptions, steps: number | undefined, side: 'score'): Promise<ScoreSide>;
export async function loadSide(dirIn: string, opts: SessionOptions, steps: number | undefined, side: 'denoise' | 'score'): Promise<DenoiseSide | ScoreSide> {
  const dir = resolve(dirIn);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new BadFileError(dir, 'not a directory; expected a model bundle (ttsnap.json, unet/, vae_decoder/, ...)');
  const manifest = loadManifest(dir);
  for (const f of bundleFiles(dir, manifest)) {
    if (!existsSync(f)) throw new BadFileError(f, `missing; expected by the bundle layout and ${basename(dir)}/ttsnap.json`);
  }
  const schedFile = join(dir, 'scheduler', 'scheduler_config.json');
  const s = manifest.sampling;
  const config = readJson(schedFile, 'a diffusers scheduler config');
  const sched = (n: number, mu = s.mu): DiffusionScheduler =>
    schedulerFromConfig(config, n, { file: schedFile, ...(s.scheduler ? { kind: s.scheduler } : {}), ...(mu !== undefined ? { mu } : {}), pipelineSigmas: s.sigmas === 'linspace' });
  const scheduler = sched(steps ?? s.steps);
  const trainedScheduler = steps === undefined || steps === s.steps ? scheduler : sched(s.steps);
  const others = new Map<string, DiffusionScheduler>([[`${scheduler.steps}`, scheduler], [`${trainedScheduler.steps}`, trainedScheduler]]);
  // the manifest's mu holds at the bundle's own size; another size's follows the config's line (as diffusers' FluxPipeline)
  const ownSeqLen = (manifest.latent.height / 2) * (manifest.latent.width / 2);
  const schedulerFor = (n: number, seqLen = ownSeqLen): DiffusionScheduler => {
    const mu = s.mu !== undefined && seqLen !== ownSeqLen ? dynamicShiftMu(config, seqLen) : s.mu;
    const key = mu === s.mu ? `${n}` : `${n}@${seqLen}`;
    return others.get(key) ?? (others.set(key, sched(n, mu)).get(key) as DiffusionScheduler);
  };
  const base = { dir, manifest, scheduler, schedulerFor, trainedScheduler };
  if (manifest.prediction !== scheduler.prediction && !(manifest.prediction === 'flow' || scheduler.prediction === 'flow')) {
    throw new BadFileError(schedFile, `prediction_type is ${scheduler.prediction}, expected ${manifest.prediction} as ttsnap.json says`);
  }
  if (side === 'denoise') {
    const dFile = join(dir, LAYOUTS[manifest.layout].folder, 'model.onnx');
    const session = await AdaptedSession.open(dFile, manifest.layout === 'sd' || manifest.layout === 'sdxl' ? 'UNet' : 'transformer', null, [LAYOUTS[manifest.layout].output], opts);
    const found = detectLayout(session.inputNames, dFile);
    if (found !== manifest.layout) throw new BadFileError(dFile, `has the inputs of layout ${found}, ttsnap.json says layout ${manifest.layout}; expected them to agree (rerun ttsnap models init)`);
    const denoiser = new Denoiser(found, session, manifest);
    // conditioning is cached per prompt in the denoiser's own float type (fp16 models: float16, never converted per call)
    const text = await TextConditioner.open(dir, found, manifest, opts, session.inputType('encoder_hidden_states') === 'float16' ? 'float16' : 'float32');
    const d: DenoiseSide = { ...base, text, denoiser, provider: session.provider };
    checkDenoiseShapes(d);
    return d;
  }
  const decoder = await AdaptedSession.open(join(dir, 'vae_decoder', 'model.onnx'), 'VAE decoder', ['latent_sample'], ['sample'], opts);
  // noise-aware variants are keyed by the manifest's step indices; other step counts remap them by noise level
  const rewards = new Map<string, RewardSessions>();
  for (const [name, r] of Object.entries(manifest.rewards)) rewards.set(name, await openReward(dir, name, r, manifest, opts, (step) => remapStep(step, trainedScheduler, scheduler, name)));
  const sc: ScoreSide = { ...base, decoder, rewards, provider: decoder.provider };
  checkScoreShapes(sc);
  return sc;
}

async function openReward(dir: string, name: string, r: RewardManifest, m: Manifest, opts: SessionOptions, remap: (step: number) => number): Promise<RewardSessions> {
  const open = async (f: string, what: string): Promise<AdaptedSession> => {
    const s = await AdaptedSession.open(join(dir, f), what, rewardInputs(r), [r.output], opts);
    checkRewardOutput(s, r, what);
    return s;
  };
  const base = await open(r.file, `reward model '${name}'`);
  const byStep = new Map<number, AdaptedSession>();
  const trained = new Map<number, AdaptedSession>();
  for (const [step, f] of Object.entries(r.noise_aware)) {
    const session = await open(f, `noise-aware reward '${name}' for step ${step}`);
    byStep.set(remap(Number(step)), session);
    trained.set(Number(step), session);
  }
  const tokenizer = r.kind === 'image_text' ? loadTokenizer(join(dir, r.tokenizer ?? 'tokenizer'), r.max_length ?? m.text.max_length) : undefined;
  return { name, spec: r, base, byStep, trained, ...(tokenizer ? { tokenizer } : {}) };
}

/** The manifest's latent size against what the denoiser declares (symbolic dims pass). */
function checkDenoiseShapes(b: DenoiseSide): void {
  const m = b.manifest;
  const latent = [m.latent.channels, m.latent.height, m.latent.width];
  if (b.denoiser.kind !== 'flux') expectDims(b.denoiser.session, b.denoiser.kind === 'sd3' ? 'hidden_states' : 'sample', latent, 'latent.channels/height/width');
  else expectDims(b.denoiser.session, 'hidden_states', [(m.latent.height / 2) * (m.latent.width / 2), m.latent.channels * 4], 'latent (packed 2x2)');
}

/** The manifest's latent and reward input sizes against what the decoder and rewards declare. */
function checkScoreShapes(b: ScoreSide): void {
  const m = b.manifest;
  expectDims(b.decoder, 'latent_sample', [m.latent.channels, m.latent.height, m.latent.width], 'latent.channels/height/width');
  for (const [name, r] of b.rewards) {
    for (const s of [r.base, ...r.byStep.values()]) expectDims(s, r.spec.inputs.image, [3, r.spec.preprocess.crop, r.spec.preprocess.crop], `rewards.${name}.preprocess.crop`);
  }
}

function expectDims(s: AdaptedSession, input: string, want: readonly number[], field: string): void {
  const shape = s.inputShape(input);
  // batches of any size go through every model: a fixed batch dim would fail mid-search, so refuse it here
  if (typeof shape[0] === 'number' && shape[0] > 0) throw new BadFileError(s.file, `input ${input} has a fixed batch dim ${shape[0]}; expected a dynamic batch axis (export with dynamic_axes)`);
  const tail = shape.slice(1);
  if (tail.length !== want.length) throw new BadFileError(s.file, `input ${input} has shape [${shape.join(', ')}], expected [batch, ${want.join(', ')}] from ttsnap.json ${field}`);
  tail.forEach((d, i) => {
    if (typeof d === 'number' && d !== want[i]) throw new BadFileError(s.file, `input ${input} has shape [${shape.join(', ')}], expected [batch, ${want.join(', ')}] from ttsnap.json ${field}`);
  });
}
