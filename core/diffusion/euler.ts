import { ValidationError } from '../errors.js';
import { alphasCumprod } from './betas.js';
import { at, type DdpmConfig } from './ddim.js';
import type { DiffusionScheduler, StepCoefficients } from './scheduler.js';
import { eulerTimesteps } from './spacing.js';

/**
 * Euler (s_churn = 0) as diffusers' EulerDiscreteScheduler with linear sigma interpolation:
 * sigma(t) = interp(t, 0..N-1, sqrt((1 - abar) / abar)), a trailing 0; the model sees x / sqrt(sigma^2 + 1);
 * x_next = x + (x - x0) / sigma * (sigma_next - sigma).
 * `ancestral`: EulerAncestralDiscreteScheduler (same sigmas and input scale): the step goes down to
 * sigma_down = sqrt(sigma_next^2 - sigma_up^2) with sigma_up = sqrt(sigma_next^2 (sigma^2 - sigma_next^2) / sigma^2),
 * then adds sigma_up * z, z the step's fresh noise (stepNoise of the candidate's seed). The last step
 * (sigma_next = 0) adds none.
 */
export function eulerScheduler(cfg: DdpmConfig, steps: number, ancestral = false): DiffusionScheduler {
  if (cfg.prediction !== 'epsilon' && cfg.prediction !== 'v_prediction') {
    throw new ValidationError('scheduler.prediction_type', `got '${String(cfg.prediction)}'`, 'epsilon | v_prediction');
  }
  const abar = alphasCumprod(cfg.betaSchedule, cfg.betaStart, cfg.betaEnd, cfg.trainSteps);
  const full = Array.from(abar, (a) => Math.sqrt((1 - a) / a));
  const timesteps = eulerTimesteps(cfg.spacing, cfg.trainSteps, steps, cfg.stepsOffset);
  const sigmas = [...Array.from(timesteps, (t) => interp(t, full)), 0];
  const maxSigma = Math.max(...sigmas);
  const initNoiseSigma = cfg.spacing === 'linspace' || cfg.spacing === 'trailing' ? maxSigma : Math.sqrt(maxSigma * maxSigma + 1);
  const coeffs: StepCoefficients[] = Array.from(timesteps, (_, i) => {
    const s = sigmas[i] as number;
    const to = sigmas[i + 1] as number;
    const up = ancestral ? Math.sqrt((to * to * (s * s - to * to)) / (s * s)) : 0;
    const dt = (ancestral ? Math.sqrt(to * to - up * up) : to) - s;
    // epsilon: x0 = x - sigma eps; v: x0 = -sigma / sqrt(sigma^2 + 1) v + x / (sigma^2 + 1)
    const x0 = cfg.prediction === 'epsilon' ? { x: 1, out: -s } : { x: 1 / (s * s + 1), out: -s / Math.sqrt(s * s + 1) };
    return { x0, next: { x: 1 + dt / s, x0: -dt / s, out: 0 }, ...(up > 0 ? { noise: up } : {}) };
  });
  return {
    kind: ancestral ? 'euler_ancestral' : 'euler',
    stochastic: coeffs.some((c) => (c.noise ?? 0) > 0),
    prediction: cfg.prediction,
    steps,
    timesteps,
    initNoiseSigma,
    inputScale: (i) => 1 / Math.sqrt(at(sigmas, i) ** 2 + 1),
    coefficients: (i) => at(coeffs, i),
  };
}

/** numpy.interp over x = 0..n-1 (clamped at both ends). */
function interp(t: number, ys: readonly number[]): number {
  if (t <= 0) return ys[0] as number;
  const n = ys.length;
  if (t >= n - 1) return ys[n - 1] as number;
  const i = Math.floor(t);
  const f = t - i;
  const a = ys[i] as number;
  return a + f * ((ys[i + 1] as number) - a);
}
