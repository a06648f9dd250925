import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { schedulerFromConfig } from '../../core/diffusion/from-config.js';
import type { DiffusionScheduler } from '../../core/diffusion/scheduler.js';
import { BadFileError } from '../../core/errors.js';
import { loadManifest, readJson, type Manifest } from './manifest.js';
import { AdaptedSession, type SessionOptions } from './session.js';
import { loadTokenizer, type Tokenizer } from './tokenizer.js';

/** A loaded reward: its base session and its noise-aware variants by step index. */
export interface RewardSessions {
  readonly name: string;
  readonly base: AdaptedSession;
  readonly byStep: ReadonlyMap<number, AdaptedSession>;
}

/** Everything a pipeline needs from a bundle, validated: sessions are open and agree with the manifest. */
export interface Bundle {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly scheduler: DiffusionScheduler;
  readonly tokenizer: Tokenizer;
  readonly textEncoder: AdaptedSession;
  readonly unet: AdaptedSession;
  /** unet (epsilon / v models) or transformer (flow models) input names */
  readonly denoiserInputs: { readonly sample: string; readonly timestep: string; readonly text: string; readonly out: string };
  readonly decoder: AdaptedSession;
  readonly rewards: ReadonlyMap<string, RewardSessions>;
  readonly provider: 'cpu' | 'cuda';
}

/** Checks that every file a bundle names exists, before any session opens (so a missing file is reported first). */
export function bundleFiles(dir: string, m: Manifest): string[] {
  const files = [join(dir, 'scheduler', 'scheduler_config.json'), join(dir, 'tokenizer', 'tokenizer.json'), join(dir, 'text_encoder', 'model.onnx'), denoiserFile(dir), join(dir, 'vae_decoder', 'model.onnx')];
  for (const r of Object.values(m.rewards)) files.push(join(dir, r.file), ...Object.values(r.noise_aware).map((f) => join(dir, f)));
  return files;
}

function denoiserFile(dir: string): string {
  const t = join(dir, 'transformer', 'model.onnx');
  return existsSync(t) && !existsSync(join(dir, 'unet', 'model.onnx')) ? t : join(dir, 'unet', 'model.onnx');
}

/**
 * Loads a bundle: manifest, scheduler config, tokenizer, and one session per model, each checked for its
 * input and output names and for shapes that agree with the manifest. Any problem is a BadFileError naming
 * the file and what was expected. `steps` overrides the manifest's sampling steps.
 */
export async function loadBundle(dirIn: string, opts: SessionOptions, steps?: number): Promise<Bundle> {
  const dir = resolve(dirIn);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new BadFileError(dir, 'not a directory; expected a model bundle (ttsnap.json, unet/, vae_decoder/, ...)');
  const manifest = loadManifest(dir);
  for (const f of bundleFiles(dir, manifest)) {
    if (!existsSync(f)) throw new BadFileError(f, `missing; expected by the bundle layout and ${basename(dir)}/ttsnap.json`);
  }
  const schedFile = join(dir, 'scheduler', 'scheduler_config.json');
  const scheduler = schedulerFromConfig(readJson(schedFile, 'a diffusers scheduler config'), steps ?? manifest.sampling.steps, {
    file: schedFile,
    ...(manifest.sampling.scheduler ? { kind: manifest.sampling.scheduler } : {}),
    ...(manifest.sampling.mu !== undefined ? { mu: manifest.sampling.mu } : {}),
  });
  if (manifest.prediction !== scheduler.prediction && !(manifest.prediction === 'flow' || scheduler.prediction === 'flow')) {
    throw new BadFileError(schedFile, `prediction_type is ${scheduler.prediction}, expected ${manifest.prediction} as ttsnap.json says`);
  }
  const tokenizer = loadTokenizer(dir, manifest.text.max_length);
  const textEncoder = await AdaptedSession.open(join(dir, 'text_encoder', 'model.onnx'), 'text encoder', ['input_ids'], ['last_hidden_state'], opts);
  const dFile = denoiserFile(dir);
  const isTransformer = basename(join(dFile, '..')) === 'transformer';
  const denoiserInputs = isTransformer
    ? { sample: 'hidden_states', timestep: 'timestep', text: 'encoder_hidden_states', out: 'out_hidden_states' }
    : { sample: 'sample', timestep: 'timestep', text: 'encoder_hidden_states', out: 'out_sample' };
  const unet = await AdaptedSession.open(dFile, isTransformer ? 'transformer' : 'UNet', [denoiserInputs.sample, denoiserInputs.timestep, denoiserInputs.text], [denoiserInputs.out], opts);
  const decoder = await AdaptedSession.open(join(dir, 'vae_decoder', 'model.onnx'), 'VAE decoder', ['latent_sample'], ['sample'], opts);
  const rewards = new Map<string, RewardSessions>();
  for (const [name, r] of Object.entries(manifest.rewards)) {
    const inputs = r.kind === 'image_text' ? [r.inputs.image, r.inputs.text as string] : [r.inputs.image];
    const open = (f: string, what: string): Promise<AdaptedSession> => AdaptedSession.open(join(dir, f), what, inputs, [r.output], opts);
    const base = await open(r.file, `reward model '${name}'`);
    const byStep = new Map<number, AdaptedSession>();
    for (const [step, f] of Object.entries(r.noise_aware)) byStep.set(Number(step), await open(f, `noise-aware reward '${name}' for step ${step}`));
    rewards.set(name, { name, base, byStep });
  }
  const bundle: Bundle = { dir, manifest, scheduler, tokenizer, textEncoder, unet, denoiserInputs, decoder, rewards, provider: unet.provider };
  checkShapes(bundle);
  return bundle;
}

/** The manifest's latent and image sizes against what the sessions declare (symbolic dims pass). */
function checkShapes(b: Bundle): void {
  const m = b.manifest;
  const latent = [m.latent.channels, m.latent.height, m.latent.width];
  expectDims(b.unet, b.denoiserInputs.sample, latent, 'latent.channels/height/width');
  expectDims(b.decoder, 'latent_sample', latent, 'latent.channels/height/width');
  expectDims(b.textEncoder, 'input_ids', [m.text.max_length], 'text.max_length');
  for (const [name, r] of b.rewards) {
    const spec = m.rewards[name];
    if (!spec) continue;
    for (const s of [r.base, ...r.byStep.values()]) expectDims(s, spec.inputs.image, [3, spec.preprocess.crop, spec.preprocess.crop], `rewards.${name}.preprocess.crop`);
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
