import { z } from 'zod';
import { ValidationError } from '../errors.js';
import { ddimScheduler, type DdpmConfig } from './ddim.js';
import { eulerScheduler } from './euler.js';
import { flowEulerScheduler } from './flow-match.js';
import type { DiffusionScheduler } from './scheduler.js';
import { parseSpacing } from './spacing.js';

/** The fields of a diffusers scheduler_config.json that these schedulers read (unknown fields pass). */
export const SchedulerConfigSchema = z.looseObject({
  _class_name: z.string(),
  num_train_timesteps: z.number().int().positive().default(1000),
  beta_start: z.number().positive().default(0.0001),
  beta_end: z.number().positive().default(0.02),
  beta_schedule: z.enum(['linear', 'scaled_linear', 'squaredcos_cap_v2']).default('linear'),
  prediction_type: z.enum(['epsilon', 'v_prediction']).default('epsilon'),
  timestep_spacing: z.string().default('leading'),
  steps_offset: z.number().int().min(0).default(0),
  set_alpha_to_one: z.boolean().default(true),
  clip_sample: z.boolean().default(false),
  clip_sample_range: z.number().positive().default(1),
  shift: z.number().positive().default(1),
  use_dynamic_shifting: z.boolean().default(false),
});
export type SchedulerConfig = z.infer<typeof SchedulerConfigSchema>;

/**
 * Which sampler runs a config: flow-matching classes -> flow_euler, EulerAncestral -> euler_ancestral, other
 * Euler classes -> euler, other DDPM-family classes -> ddim.
 */
export function schedulerKind(className: string): DiffusionScheduler['kind'] {
  if (className.startsWith('FlowMatch')) return 'flow_euler';
  if (className.startsWith('EulerAncestral')) return 'euler_ancestral';
  if (className.startsWith('Euler')) return 'euler';
  return 'ddim';
}

/**
 * Builds the scheduler for `steps` sampling steps from a parsed scheduler_config.json. `kind` overrides the
 * class (e.g. a PNDM config sampled with DDIM); `mu` is FLUX's resolution-dependent dynamic shift;
 * `pipelineSigmas` takes FluxPipeline's own sigmas.
 */
export function schedulerFromConfig(raw: unknown, steps: number, opts: { kind?: DiffusionScheduler['kind']; mu?: number; pipelineSigmas?: boolean; file?: string } = {}): DiffusionScheduler {
  const parsed = SchedulerConfigSchema.safeParse(raw);
  const field = opts.file ?? 'scheduler_config.json';
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(`${field}: ${issue?.path.join('.') ?? ''}`, issue?.message ?? 'invalid', 'a diffusers scheduler config');
  }
  const c = parsed.data;
  // options that change the sigmas or the update rule; refused rather than silently sampled without
  for (const flag of ['use_karras_sigmas', 'use_exponential_sigmas', 'use_beta_sigmas', 'rescale_betas_zero_snr', 'thresholding', 'invert_sigmas', 'stochastic_sampling']) {
    if ((c as Record<string, unknown>)[flag] === true) throw new ValidationError(`${field}: ${flag}`, 'true is not supported', 'false (or absent)');
  }
  if (Array.isArray((c as Record<string, unknown>).trained_betas)) throw new ValidationError(`${field}: trained_betas`, 'explicit betas are not supported', 'null, with beta_schedule');
  const kind = opts.kind ?? schedulerKind(c._class_name);
  if (kind === 'flow_euler') {
    if (c.use_dynamic_shifting && opts.mu === undefined) throw new ValidationError(`${field}: use_dynamic_shifting`, 'needs mu', 'a manifest sampling.mu, or use_dynamic_shifting false');
    return flowEulerScheduler({ trainSteps: c.num_train_timesteps, shift: c.shift, pipelineSigmas: opts.pipelineSigmas === true, ...(c.use_dynamic_shifting ? { mu: opts.mu as number } : {}) }, steps);
  }
  const ddpm: DdpmConfig = {
    trainSteps: c.num_train_timesteps,
    betaStart: c.beta_start,
    betaEnd: c.beta_end,
    betaSchedule: c.beta_schedule,
    prediction: c.prediction_type,
    spacing: parseSpacing(c.timestep_spacing, `${field}: timestep_spacing`),
    stepsOffset: c.steps_offset,
    setAlphaToOne: c.set_alpha_to_one,
    clipSample: c.clip_sample,
    clipRange: c.clip_sample_range,
  };
  return kind === 'ddim' ? ddimScheduler(ddpm, steps) : eulerScheduler(ddpm, steps, kind === 'euler_ancestral');
}
