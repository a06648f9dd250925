import { ValidationError } from '../errors.js';
import { alphasCumprod, type BetaSchedule } from './betas.js';
import type { Prediction, DiffusionScheduler, StepCoefficients } from './scheduler.js';
import { discreteTimesteps, type TimestepSpacing } from './spacing.js';
import { tweedieEpsilon, tweedieV } from './tweedie.js';

export interface DdpmConfig {
  readonly trainSteps: number;
  readonly betaStart: number;
  readonly betaEnd: number;
  readonly betaSchedule: BetaSchedule;
  readonly prediction: 'epsilon' | 'v_prediction';
  readonly spacing: TimestepSpacing;
  readonly stepsOffset: number;
  /** DDIM only: abar used past the last step (1, or alphas_cumprod[0] when false) */
  readonly setAlphaToOne: boolean;
  /** DDIM only: clip x0 to [-clipRange, clipRange] */
  readonly clipSample: boolean;
  readonly clipRange: number;
}

/**
 * Deterministic DDIM (eta = 0) as diffusers' DDIMScheduler: prev_t = t - N // S whatever the spacing,
 * x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev) eps.
 */
export function ddimScheduler(cfg: DdpmConfig, steps: number): DiffusionScheduler {
  if (cfg.prediction !== 'epsilon' && cfg.prediction !== 'v_prediction') {
    throw new ValidationError('scheduler.prediction_type', `got '${String(cfg.prediction)}'`, 'epsilon | v_prediction');
  }
  const abar = alphasCumprod(cfg.betaSchedule, cfg.betaStart, cfg.betaEnd, cfg.trainSteps);
  const ts = discreteTimesteps(cfg.spacing, cfg.trainSteps, steps, cfg.stepsOffset);
  for (const t of ts) {
    if (t < 0 || t >= cfg.trainSteps) throw new ValidationError('scheduler.steps_offset', `timestep ${t} is outside the training range`, `timesteps in [0, ${cfg.trainSteps - 1}]`);
  }
  const finalAbar = cfg.setAlphaToOne ? 1 : (abar[0] as number);
  const stride = Math.floor(cfg.trainSteps / steps);
  const coeffs: StepCoefficients[] = Array.from(ts, (t) => {
    const at = abar[t] as number;
    const prevT = t - stride;
    const ap = prevT >= 0 ? (abar[prevT] as number) : finalAbar;
    const x0 = cfg.prediction === 'epsilon' ? tweedieEpsilon(at) : tweedieV(at);
    // eps as a function of (x, out): epsilon -> out; v -> sqrt(at) v + sqrt(1 - at) x
    const eps = cfg.prediction === 'epsilon' ? { x: 0, out: 1 } : { x: Math.sqrt(1 - at), out: Math.sqrt(at) };
    const h = Math.sqrt(1 - ap);
    return {
      x0,
      next: { x: h * eps.x, x0: Math.sqrt(ap), out: h * eps.out },
      ...(cfg.clipSample ? { clip: cfg.clipRange } : {}),
    };
  });
  return {
    kind: 'ddim',
    stochastic: false,
    prediction: cfg.prediction as Prediction,
    steps,
    timesteps: Float64Array.from(ts),
    initNoiseSigma: 1,
    inputScale: () => 1,
    coefficients: (i) => at(coeffs, i),
  };
}

export function at<T>(arr: readonly T[], i: number): T {
  const v = arr[i];
  if (v === undefined) throw new RangeError(`step index ${i} is outside [0, ${arr.length - 1}]`);
  return v;
}
