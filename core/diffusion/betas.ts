import { ValidationError } from '../errors.js';

/** The beta schedules diffusers supports for DDPM-family models (names as in scheduler_config.json). */
export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';

/**
 * alphas_cumprod (abar_t for t = 0..N-1) of a diffusers beta schedule, computed in float64.
 * linear: betas = linspace(beta_start, beta_end, N); scaled_linear: linspace(sqrt(start), sqrt(end), N)^2;
 * squaredcos_cap_v2: betas_for_alpha_bar with the cosine alpha_bar and max_beta 0.999.
 * diffusers keeps these in float32; the differences are below 1e-6 relative.
 */
export function alphasCumprod(schedule: BetaSchedule, betaStart: number, betaEnd: number, trainSteps: number): Float64Array {
  const betas = new Float64Array(trainSteps);
  const lin = (a: number, b: number, i: number): number => (trainSteps === 1 ? a : a + ((b - a) * i) / (trainSteps - 1));
  for (let i = 0; i < trainSteps; i++) {
    if (schedule === 'linear') betas[i] = lin(betaStart, betaEnd, i);
    else if (schedule === 'scaled_linear') betas[i] = lin(Math.sqrt(betaStart), Math.sqrt(betaEnd), i) ** 2;
    else if (schedule === 'squaredcos_cap_v2') {
      const abar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * Math.PI * 0.5) ** 2;
      betas[i] = Math.min(1 - abar((i + 1) / trainSteps) / abar(i / trainSteps), 0.999);
    } else throw new ValidationError('scheduler.beta_schedule', `got '${String(schedule)}'`, 'linear | scaled_linear | squaredcos_cap_v2');
  }
  const out = new Float64Array(trainSteps);
  let prod = 1;
  for (let i = 0; i < trainSteps; i++) {
    prod *= 1 - (betas[i] as number);
    out[i] = prod;
  }
  return out;
}
