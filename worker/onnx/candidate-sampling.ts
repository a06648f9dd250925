import type { DiffusionScheduler } from '../../core/diffusion/scheduler.js';
import { ValidationError } from '../../core/errors.js';
import type { SamplingLimits__Output } from '../../core/generated/ttsnap/v1/SamplingLimits.js';
import type { SamplingSettings__Output } from '../../core/generated/ttsnap/v1/SamplingSettings.js';
import type { DenoiseSide } from './bundle.js';

/** The most sampling steps a candidate may ask for (a schedule's timesteps are computed per step count). */
export const MAX_CANDIDATE_STEPS = 1000;

/** What a candidate samples with: its prompt's settings, with the worker's own where a field is unset. */
export interface CandidateSampler {
  readonly guidance: number;
  readonly negativePrompt: string;
  readonly scheduler: DiffusionScheduler;
  /** classifier-free guidance doubles its rows into [uncond, cond]: a denoise call never mixes rows with and without */
  readonly cfg: boolean;
}

/** The worker's own settings (its flags, else the manifest's). */
export interface SamplerDefaults {
  readonly guidance: number;
  readonly negativePrompt: string;
}

/**
 * The sampler of a candidate from its settings. Sizes other than the bundle's are refused here: the latents,
 * the decoder and the rewards run at the manifest's size (SamplingLimits.size_step 0), so a coordinator refuses
 * them first; this guards a request that reached the worker another way. Errors name the field (sampling.*).
 */
export function candidateSampler(b: DenoiseSide, s: SamplingSettings__Output | null | undefined, d: SamplerDefaults): CandidateSampler {
  const guidance = s?.guidance || d.guidance;
  if (!Number.isFinite(guidance) || guidance < 0 || guidance > 100) throw new ValidationError('sampling.guidance', `got ${guidance}`, 'a number in (0, 100] (0 = not set)');
  const steps = s?.steps || b.scheduler.steps;
  if (!Number.isInteger(steps) || steps < 2 || steps > MAX_CANDIDATE_STEPS) throw new ValidationError('sampling.steps', `got ${steps}`, `an integer in [2, ${MAX_CANDIDATE_STEPS}] (0 = not set)`);
  const { width, height } = b.manifest.image;
  for (const [field, v, own] of [['width', s?.width ?? 0, width], ['height', s?.height ?? 0, height]] as const) {
    if (v !== 0 && v !== own) throw new ValidationError(`sampling.${field}`, `got ${v}`, `${own} (0 = not set): this worker samples at the bundle's ${width}x${height}`);
  }
  return {
    guidance,
    negativePrompt: s?.negative_prompt || d.negativePrompt,
    scheduler: b.schedulerFor(steps),
    cfg: guidance > 1 && b.denoiser.doublesForGuidance,
  };
}

/** The settings a sampler runs with, every field set (a candidate's state carries them to another worker). */
export function samplerSettings(s: CandidateSampler): SamplingSettings__Output {
  return { guidance: s.guidance, steps: s.scheduler.steps, negative_prompt: s.negativePrompt, width: 0, height: 0 };
}

/** What the coordinator may ask of this worker per job or prompt (BackendInfo.sampling). */
export function samplingLimits(b: DenoiseSide, d: SamplerDefaults): SamplingLimits__Output {
  const { width, height } = b.manifest.image;
  return { per_candidate: true, width, height, size_step: 0, min_size: 0, max_size: 0, max_steps: MAX_CANDIDATE_STEPS, guidance: d.guidance, negative_prompt: d.negativePrompt };
}
