import type { DiffusionScheduler } from '../../core/diffusion/scheduler.js';
import { ValidationError } from '../../core/errors.js';
import type { SamplingLimits__Output } from '../../core/generated/ttsnap/v1/SamplingLimits.js';
import type { SamplingSettings__Output } from '../../core/generated/ttsnap/v1/SamplingSettings.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DenoiseSide } from './bundle.js';
import { LAYOUTS } from './layout.js';
import { readJson } from './manifest.js';
import type { AdaptedSession } from './session.js';

/** The most sampling steps a candidate may ask for (a schedule's timesteps are computed per step count). */
export const MAX_CANDIDATE_STEPS = 1000;

/** What a candidate samples with: its prompt's settings, with the worker's own where a field is unset. */
export interface CandidateSampler {
  readonly guidance: number;
  readonly negativePrompt: string;
  readonly scheduler: DiffusionScheduler;
  /** classifier-free guidance doubles its rows into [uncond, cond]: a denoise call never mixes rows with and without */
  readonly cfg: boolean;
  /** its image size in pixels and its latent's (image / the VAE factor): the bundle's own unless its settings ask another */
  readonly size: CandidateSize;
}

export interface CandidateSize {
  readonly height: number;
  readonly width: number;
  readonly latentHeight: number;
  readonly latentWidth: number;
}

/**
 * The image sizes a bundle samples at besides its own, where its exports have dynamic spatial dims: multiples of
 * `step` in [min, max]. The step is the VAE factor times the latent cells the denoiser needs per side (FLUX's 2x2
 * packing, SD3's patch size, a UNet's 2^downsamplings); max is twice the bundle's larger side (its memory per
 * candidate grows with the area, so a job cannot ask a bundle for many times its own by accident).
 */
export interface SizeRule {
  readonly step: number;
  readonly min: number;
  readonly max: number;
}

/** True when every listed axis of the session's input is symbolic (the export declared it dynamic). */
export function dynamicAxes(s: AdaptedSession, input: string, axes: readonly number[]): boolean {
  const shape = s.inputShape(input);
  return axes.every((a) => typeof shape[a] === 'string');
}

/** The size rule of the denoising side (null: its denoiser's spatial dims are fixed, only the bundle's size). */
export function denoiserSizeRule(b: DenoiseSide): SizeRule | null {
  const d = b.denoiser;
  const dynamic =
    d.kind === 'flux' ? dynamicAxes(d.session, 'hidden_states', [1]) && dynamicAxes(d.session, 'img_ids', [0]) : dynamicAxes(d.session, d.kind === 'sd3' ? 'hidden_states' : 'sample', [2, 3]);
  if (!dynamic) return null;
  const { image, latent } = b.manifest;
  const step = (image.height / latent.height) * latentMultiple(b);
  return { step, min: step, max: 2 * Math.max(image.height, image.width) };
}

/**
 * Latent cells per side the denoiser needs, from its config.json (diffusers' names): FLUX packs 2x2 patches; SD3
 * patchifies by patch_size; a UNet's skip connections meet again only at multiples of 2^(len(block_out_channels)-1),
 * the export having traced its upsampling at such a size. A config without the field (the test fixtures'
 * single-level nets) needs none.
 */
function latentMultiple(b: DenoiseSide): number {
  const kind = b.denoiser.kind;
  if (kind === 'flux') return 2;
  const file = join(b.dir, LAYOUTS[kind].folder, 'config.json');
  const c = (existsSync(file) ? readJson(file, 'a diffusers model config') : {}) as Record<string, unknown>;
  if (kind === 'sd3') return typeof c.patch_size === 'number' ? c.patch_size : 1;
  return Array.isArray(c.block_out_channels) && c.block_out_channels.length > 1 ? 2 ** (c.block_out_channels.length - 1) : 1;
}

/** The VAE decoder takes latents of any spatial size. */
export function decoderTakesSizes(decoder: AdaptedSession): boolean {
  return dynamicAxes(decoder, 'latent_sample', [2, 3]);
}

/** The image size a candidate asks for (0 = the bundle's), checked against the rule; the latent's follows. */
function candidateSize(b: DenoiseSide, s: SamplingSettings__Output | null | undefined, rule: SizeRule | null): CandidateSize {
  const { image, latent } = b.manifest;
  const factor = image.height / latent.height;
  const [height, width] = [s?.height || image.height, s?.width || image.width];
  for (const [field, v, own] of [['width', width, image.width], ['height', height, image.height]] as const) {
    if (v === own) continue;
    if (!rule) throw new ValidationError(`sampling.${field}`, `got ${v}`, `${own} (0 = not set): this worker samples at the bundle's ${image.width}x${image.height} (its exports have fixed spatial dims)`);
    if (!Number.isInteger(v) || v % rule.step !== 0 || v < rule.min || v > rule.max) throw new ValidationError(`sampling.${field}`, `got ${v}`, `a multiple of ${rule.step} in [${rule.min}, ${rule.max}] (0 = not set)`);
  }
  return { height, width, latentHeight: height / factor, latentWidth: width / factor };
}

/** The worker's own settings (its flags, else the manifest's). */
export interface SamplerDefaults {
  readonly guidance: number;
  readonly negativePrompt: string;
}

/**
 * The sampler of a candidate from its settings. Sizes other than the bundle's pass where `sizes` allows them
 * (a coordinator checks them against SamplingLimits first; this guards a request that reached the worker another
 * way). Errors name the field (sampling.*).
 */
export function candidateSampler(b: DenoiseSide, s: SamplingSettings__Output | null | undefined, d: SamplerDefaults, sizes: SizeRule | null): CandidateSampler {
  const guidance = s?.guidance || d.guidance;
  if (!Number.isFinite(guidance) || guidance < 0 || guidance > 100) throw new ValidationError('sampling.guidance', `got ${guidance}`, 'a number in (0, 100] (0 = not set)');
  const steps = s?.steps || b.scheduler.steps;
  if (!Number.isInteger(steps) || steps < 2 || steps > MAX_CANDIDATE_STEPS) throw new ValidationError('sampling.steps', `got ${steps}`, `an integer in [2, ${MAX_CANDIDATE_STEPS}] (0 = not set)`);
  const size = candidateSize(b, s, sizes);
  return {
    guidance,
    negativePrompt: s?.negative_prompt || d.negativePrompt,
    // FLUX dev's dynamic shift depends on the image's token count
    scheduler: b.schedulerFor(steps, (size.latentHeight / 2) * (size.latentWidth / 2)),
    cfg: guidance > 1 && b.denoiser.doublesForGuidance,
    size,
  };
}

/** The settings a sampler runs with, every field set (a candidate's state carries them to another worker). */
export function samplerSettings(s: CandidateSampler): SamplingSettings__Output {
  return { guidance: s.guidance, steps: s.scheduler.steps, negative_prompt: s.negativePrompt, width: s.size.width, height: s.size.height };
}

/** What the coordinator may ask of this worker per job or prompt (BackendInfo.sampling). */
export function samplingLimits(b: DenoiseSide, d: SamplerDefaults, sizes: SizeRule | null): SamplingLimits__Output {
  const { width, height } = b.manifest.image;
  return { per_candidate: true, width, height, ...sizeLimits(sizes), max_steps: MAX_CANDIDATE_STEPS, guidance: d.guidance, negative_prompt: d.negativePrompt, guidance_doubles: b.denoiser.doublesForGuidance };
}

/** A size rule as SamplingLimits reports it (size_step 0: only the bundle's size). */
export function sizeLimits(r: SizeRule | null): Pick<SamplingLimits__Output, 'size_step' | 'min_size' | 'max_size'> {
  return r ? { size_step: r.step, min_size: r.min, max_size: r.max } : { size_step: 0, min_size: 0, max_size: 0 };
}
