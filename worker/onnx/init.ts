import { existsSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { schedulerKind } from '../../core/diffusion/from-config.js';
import { BadFileError } from '../../core/errors.js';
import { readOnnxGraph } from './graph.js';
import { detectLayout, type LayoutKind } from './layout.js';
import { bundleSessions, loadBundle } from './bundle.js';
import { bundleCost, withCost } from './bundle-cost.js';
import { dynamicShiftMu } from './dynamic-shift.js';
import { loadManifest, MANIFEST_FILE, readJson, type Manifest } from './manifest.js';
import { addReward, type AddRewardOptions } from './reward-folder.js';
import type { SessionOptions } from './session.js';

/** What `models init` decided, with the notes it prints (what runs where the export asks for something else). */
export interface InitResult {
  readonly manifest: Manifest;
  readonly notes: readonly string[];
}

export interface InitOptions {
  readonly steps?: number;
  readonly guidance?: number;
  readonly name?: string;
}

type Json = Record<string, unknown>;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

// model_index.json _class_name of each layout: diffusers' names (Optimum) and older exporters'
const CLASSES: Readonly<Record<LayoutKind, readonly string[]>> = {
  sd: ['StableDiffusionPipeline', 'ORTStableDiffusionPipeline', 'OnnxStableDiffusionPipeline', 'StableDiffusionOnnxPipeline'],
  sdxl: ['StableDiffusionXLPipeline', 'ORTStableDiffusionXLPipeline'],
  sd3: ['StableDiffusion3Pipeline', 'ORTStableDiffusion3Pipeline'],
  flux: ['FluxPipeline', 'ORTFluxPipeline'],
};

/**
 * The ttsnap.json for a folder written by `optimum-cli export onnx` (or diffusers' ONNX layout): the layout
 * from the denoiser's inputs (checked against model_index.json), sampling defaults of the diffusers pipeline
 * (`__call__` defaults; distilled Turbo/schnell models: 4 steps without guidance), the scheduler the config
 * maps to, VAE factors from vae_decoder/config.json, no rewards yet. Cost is filled by the caller.
 */
export function initManifest(dirIn: string, opts: InitOptions = {}): InitResult {
  const dir = resolve(dirIn);
  const notes: string[] = [];
  const index = readJson(join(dir, 'model_index.json'), 'the diffusers pipeline config (model_index.json)') as Json;
  const cls = String(index._class_name ?? '');
  if (index.requires_aesthetics_score === true || /Img2Img|Refiner|Inpaint/.test(cls)) {
    throw new BadFileError(join(dir, 'model_index.json'), `_class_name ${cls}${index.requires_aesthetics_score === true ? ' with requires_aesthetics_score (the SDXL refiner)' : ''} is not supported; supported: text-to-image SD 1.x/2.x/Turbo, SDXL base/Turbo, SD3, FLUX.1`);
  }
  const folder = existsSync(join(dir, 'unet', 'model.onnx')) ? 'unet' : 'transformer';
  const dFile = join(dir, folder, 'model.onnx');
  if (!existsSync(dFile)) throw new BadFileError(dFile, 'missing; expected unet/model.onnx or transformer/model.onnx as optimum-cli export onnx writes them');
  const graph = readOnnxGraph(dFile);
  const layout = detectLayout([...graph.inputs.keys()], dFile);
  if (cls && !CLASSES[layout].includes(cls)) notes.push(`model_index.json says ${cls}; the denoiser's inputs are those of layout ${layout}, which is what runs`);
  const schedFile = join(dir, 'scheduler', 'scheduler_config.json');
  const sched = readJson(schedFile, 'a diffusers scheduler config') as Json;
  const schedClass = String(sched._class_name ?? '');
  const kind = schedulerKind(schedClass);
  if (schedClass === 'PNDMScheduler') notes.push('scheduler: PNDMScheduler config sampled with DDIM (eta 0; ttsnap has no PLMS)');
  else if (kind === 'euler_ancestral') notes.push(`scheduler: ${schedClass}: ancestral Euler; the noise added at step i is Philox stream i + 1 of the candidate's seed, so a candidate is still a pure function of its seed`);
  else if (!['DDIMScheduler', 'EulerDiscreteScheduler', 'FlowMatchEulerDiscreteScheduler'].includes(schedClass)) notes.push(`scheduler: ${schedClass} config sampled with ${kind}`);
  const vaeFile = join(dir, 'vae_decoder', 'config.json');
  const vae = (existsSync(vaeFile) ? readJson(vaeFile, 'the VAE config') : {}) as Json;
  const blocks = Array.isArray(vae.block_out_channels) ? vae.block_out_channels.length : 4;
  const factor = 2 ** (blocks - 1);
  const denoiserCfgFile = join(dir, folder, 'config.json');
  const dcfg = (existsSync(denoiserCfgFile) ? readJson(denoiserCfgFile, 'the denoiser config') : {}) as Json;
  const sampleSize = num(dcfg.sample_size);
  const size = sampleSize !== undefined ? sampleSize * factor : num(vae.sample_size) ?? 1024;
  const lat = Math.floor(size / factor);
  const channels = num(vae.latent_channels) ?? (layout === 'sd3' || layout === 'flux' ? 16 : 4);
  if (layout === 'flux' && lat % 2 !== 0) throw new BadFileError(vaeFile, `a ${size}px image gives a ${lat}x${lat} latent; FLUX packs 2x2 patches, expected an even latent size`);
  const takesGuidance = graph.inputs.has('guidance');
  // distilled few-step models: SD/SDXL Turbo (Euler with trailing spacing), FLUX schnell (no guidance input)
  const turbo = (layout === 'sd' || layout === 'sdxl') && (kind === 'euler' || kind === 'euler_ancestral') && sched.timestep_spacing === 'trailing';
  const schnell = layout === 'flux' && !takesGuidance;
  const defaults: Readonly<Record<LayoutKind, readonly [number, number]>> = { sd: [50, 7.5], sdxl: [50, 5.0], sd3: [28, 7.0], flux: [28, 3.5] };
  let [steps, guidance] = defaults[layout];
  if (turbo || schnell) {
    [steps, guidance] = [4, 0];
    notes.push(`${turbo ? 'Turbo' : 'FLUX schnell'}: a distilled few-step model, sampled with 4 steps and no guidance by default; best-of-N (no prune points)`);
  }
  steps = opts.steps ?? steps;
  guidance = opts.guidance ?? guidance;
  const tokCfgFile = join(dir, 'tokenizer', 'tokenizer_config.json');
  const tokCfg = (existsSync(tokCfgFile) ? readJson(tokCfgFile, 'a tokenizer config') : {}) as Json;
  const maxLength = Math.min(num(tokCfg.model_max_length) ?? 77, 77);
  const t5 = layout === 'sd3' ? 256 : layout === 'flux' ? (schnell ? 256 : 512) : undefined;
  let mu: number | undefined;
  if (layout === 'flux' && sched.use_dynamic_shifting === true) {
    mu = dynamicShiftMu(sched, (lat / 2) ** 2);
  }
  const manifest: Manifest = {
    format: 'ttsnap-bundle/1',
    name: opts.name ?? basename(dir),
    layout,
    prediction: kind === 'flow_euler' ? 'flow' : sched.prediction_type === 'v_prediction' ? 'v_prediction' : 'epsilon',
    image: { height: lat * factor, width: lat * factor },
    latent: { channels, height: lat, width: lat, scaling_factor: num(vae.scaling_factor) ?? 0.18215, shift_factor: num(vae.shift_factor) ?? 0 },
    sampling: {
      steps,
      guidance_scale: guidance,
      negative_prompt: '',
      scheduler: kind,
      ...(mu !== undefined ? { mu } : {}),
      timestep_scale: layout === 'flux' ? 0.001 : 1,
      sigmas: layout === 'flux' ? 'linspace' : 'scheduler',
      zero_empty_negative: index.force_zeros_for_empty_prompt === true,
      schedule: '',
    },
    text: { max_length: maxLength, ...(t5 !== undefined ? { t5_max_length: t5 } : {}) },
    cost: { unit: 'TFLOPs', denoise: 0, verify: {} },
    rewards: {},
    default_rewards: [],
  };
  if (layout === 'sd3' && !existsSync(join(dir, 'text_encoder_3', 'model.onnx'))) notes.push('SD3 without text_encoder_3: T5 states are zeros, as diffusers does without T5');
  return { manifest, notes };
}

/**
 * The default prune schedule for a bundle: a prune point at each step that has a noise-aware variant of the
 * default reward, keeping half the candidates there; best-of-N (empty) where there are none.
 */
export function defaultSchedule(m: Manifest): string {
  const main = m.rewards[m.default_rewards[0] ?? ''];
  const steps = Object.keys(main?.noise_aware ?? {})
    .map(Number)
    .filter((s) => s < m.sampling.steps - 1)
    .sort((a, b) => a - b);
  return steps.map((s) => `${s}:0.5`).join(',');
}

/** Writes a manifest with its cost block measured from the graphs (as `models cost --write`). */
export function writeManifest(dir: string, m: Manifest): Manifest {
  const file = join(resolve(dir), MANIFEST_FILE);
  writeFileSync(file, `${JSON.stringify(m, null, 2)}\n`);
  const withCosts = withCost(m, bundleCost(dir));
  writeFileSync(file, `${JSON.stringify(withCosts, null, 2)}\n`);
  return withCosts;
}

/** `models init DIR`: the manifest of an exporter's folder, written with measured costs. */
export function initBundle(dir: string, opts: InitOptions = {}): InitResult {
  const { manifest, notes } = initManifest(dir, opts);
  return { manifest: writeManifest(dir, manifest), notes };
}

/**
 * `models add-reward DIR NAME PATH`: copies the reward folder in, adds it to the manifest (with the default
 * schedule for the default reward's variants), re-measures costs and loads the bundle to check the reward's
 * contract; on any failure the bundle is left as it was.
 */
export async function addRewardToBundle(dir: string, name: string, src: string, opts: AddRewardOptions, session: SessionOptions): Promise<Manifest> {
  const before = loadManifest(dir);
  const { manifest, undo } = addReward(dir, before, name, src, opts);
  try {
    const m = writeManifest(dir, { ...manifest, sampling: { ...manifest.sampling, schedule: defaultSchedule(manifest) } });
    await Promise.all(bundleSessions(await loadBundle(dir, session)).map((s) => s.close()));
    return m;
  } catch (err) {
    undo();
    writeFileSync(join(resolve(dir), MANIFEST_FILE), `${JSON.stringify(before, null, 2)}\n`);
    throw err;
  }
}
