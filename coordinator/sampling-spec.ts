import type { Schedule } from '../core/engine/schedule.js';
import { ValidationError } from '../core/errors.js';
import type { SamplingSettings, SamplingSettings__Output } from '../core/generated/ttsnap/v1/SamplingSettings.js';
import type { BackendInfo } from '../core/contract/backend-info.js';
import { LIMITS } from './job-spec.js';

/** Sampling settings as a job carries them: every field a number or string, 0 or '' = not set. */
export type Sampling = SamplingSettings__Output;

const NOT_SET: Sampling = { guidance: 0, steps: 0, negative_prompt: '', width: 0, height: 0 };

/**
 * Checks the sampling settings of a job or a prompt (`field` names them in errors): ranges first, then what the
 * workers apply. Model workers that report SamplingLimits take guidance, negative prompt, steps up to their
 * max_steps and the sizes their exports allow; the trace backend replays recorded scores and keeps the settings
 * as labels; a model worker without limits (an older one) refuses them rather than ignoring them.
 * Returns null when nothing is set.
 */
export function checkSampling(s: SamplingSettings | null | undefined, field: string, info: BackendInfo): Sampling | null {
  if (!s) return null;
  const guidance = Number(s.guidance ?? 0);
  const negative = s.negative_prompt ?? '';
  const [steps, width, height] = [Number(s.steps ?? 0), Number(s.width ?? 0), Number(s.height ?? 0)];
  if (!Number.isFinite(guidance) || guidance < 0 || guidance > 100) throw new ValidationError(`${field}.guidance`, `got ${guidance}`, 'a number in (0, 100] (0 = not set)');
  if (negative.length > LIMITS.textChars) throw new ValidationError(`${field}.negative_prompt`, `${negative.length} characters`, `at most ${LIMITS.textChars}`);
  const limits = info.sampling;
  const maxSteps = limits?.max_steps || 1000;
  if (!Number.isInteger(steps) || steps === 1 || steps > maxSteps) throw new ValidationError(`${field}.steps`, `got ${steps}`, `an integer in [2, ${maxSteps}] (0 = not set)`);
  const set = guidance > 0 || negative !== '' || steps > 0 || width > 0 || height > 0;
  if (!set) return null;
  const trace = info.tracePrompts > 0;
  if (!trace && !limits?.per_candidate) {
    throw new ValidationError(field, `set for the ${info.backend} backend, whose workers do not apply sampling settings per job or prompt`, "none: these workers run their own sampling settings (worker flags --guidance, --steps, --negative-prompt)");
  }
  for (const [name, v] of [['width', width], ['height', height]] as const) checkSize(v, `${field}.${name}`, trace ? null : (limits ?? null));
  return { guidance, negative_prompt: negative, steps, width, height };
}

/** One side of the image size against the workers' limits (the trace backend: any multiple of 8 up to 4096). */
function checkSize(v: number, field: string, limits: BackendInfo['sampling'] | null): void {
  if (v === 0) return;
  if (!limits) {
    if (!Number.isInteger(v) || v % 8 !== 0 || v > 4096) throw new ValidationError(field, `got ${v}`, 'a multiple of 8 in [8, 4096] (0 = not set)');
    return;
  }
  const own = field.endsWith('width') ? limits.width : limits.height;
  if (limits.size_step === 0) {
    if (v !== own) throw new ValidationError(field, `got ${v}`, `${own} (0 = not set): the bundle's exports have fixed spatial dims, ${limits.width}x${limits.height}`);
    return;
  }
  if (!Number.isInteger(v) || v % limits.size_step !== 0 || v < limits.min_size || v > limits.max_size) {
    throw new ValidationError(field, `got ${v}`, `a multiple of ${limits.size_step} in [${limits.min_size}, ${limits.max_size}] (0 = not set)`);
  }
}

/** A prompt's settings over the job's, field by field (a prompt's unset field takes the job's). */
export function mergeSampling(job: Sampling | null, prompt: Sampling | null): Sampling | null {
  if (!job || !prompt) return job ?? prompt;
  return {
    guidance: prompt.guidance || job.guidance,
    steps: prompt.steps || job.steps,
    negative_prompt: prompt.negative_prompt || job.negative_prompt,
    width: prompt.width || job.width,
    height: prompt.height || job.height,
  };
}

/** The settings a candidate runs with: unset fields filled from what the workers report (provenance). */
export function resolvedSampling(s: Sampling | null, info: BackendInfo): Sampling | null {
  const l = info.sampling;
  if (!l?.per_candidate) return s;
  const x = s ?? NOT_SET;
  return {
    guidance: x.guidance || Number(l.guidance),
    steps: x.steps || info.steps,
    negative_prompt: x.negative_prompt || l.negative_prompt,
    width: x.width || l.width,
    height: x.height || l.height,
  };
}

/**
 * The sampling steps a prompt's candidates run: their own where the workers apply settings, else the workers'.
 * Every prune step of the schedule must be a step of theirs before the last (<= steps - 2): else the error
 * names the steps field and the step counts that fit.
 */
export function stepsFor(s: Sampling | null, field: string, schedule: Schedule, info: BackendInfo): number {
  if (!s?.steps || !info.sampling?.per_candidate) return info.steps;
  const last = schedule.reduce((m, p) => Math.max(m, p.step), -1);
  if (last > s.steps - 2) {
    throw new ValidationError(`${field}.steps`, `got ${s.steps}; the schedule prunes at step ${last}`, `an integer in [${last + 2}, ${info.sampling.max_steps}] (or a schedule whose prune steps are <= steps - 2)`);
  }
  return s.steps;
}

/**
 * What a denoise step costs at `guidance` (0 = the worker's own). The workers' cost is for their own guidance;
 * where guidance decides the passes (classifier-free guidance: two above 1, one at 1 or below), a job or prompt
 * that sets another runs the denoiser as often as its own guidance says, and is charged so.
 */
export function denoiseCostAt(info: BackendInfo, guidance: number): number {
  const l = info.sampling;
  if (!l?.guidance_doubles || !(guidance > 0)) return info.cost.denoise;
  const passes = (g: number): number => (g > 1 ? 2 : 1);
  return (info.cost.denoise * passes(guidance)) / passes(Number(l.guidance));
}
