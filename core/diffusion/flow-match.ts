import { ValidationError } from '../errors.js';
import { at } from './ddim.js';
import type { DiffusionScheduler, StepCoefficients } from './scheduler.js';
import { linspaceAt } from './spacing.js';
import { tweedieFlow } from './tweedie.js';

export interface FlowConfig {
  readonly trainSteps: number;
  /** static shift (SD3: 3.0); ignored when mu is given */
  readonly shift: number;
  /** dynamic shifting (FLUX): sigma' = e^mu / (e^mu + (1/sigma - 1)) */
  readonly mu?: number;
  /** FluxPipeline passes its own sigmas, linspace(1, 1/S, S), instead of the scheduler's linspace to shift(1/N) */
  readonly pipelineSigmas?: boolean;
}

/**
 * Flow-matching Euler as diffusers' FlowMatchEulerDiscreteScheduler. At construction sigmas are
 * shift(linspace(1, N, N) / N) reversed, so sigma_max = 1 and sigma_min = shift(1 / N); set_timesteps takes
 * linspace(sigma_max * N, sigma_min * N, S) / N and shifts again (diffusers shifts sigma_min twice, and so do we),
 * then timesteps = sigma * N and a trailing 0 sigma. x_next = x + (sigma_next - sigma) v.
 */
export function flowEulerScheduler(cfg: FlowConfig, steps: number): DiffusionScheduler {
  if (!(cfg.shift > 0)) throw new ValidationError('scheduler.shift', `got ${cfg.shift}`, 'a number > 0');
  if (!Number.isInteger(steps) || steps < 1) throw new ValidationError('sampling.steps', `got ${steps}`, 'an integer >= 1');
  const n = cfg.trainSteps;
  const staticShift = (s: number): number => (cfg.shift * s) / (1 + (cfg.shift - 1) * s);
  const shift = cfg.mu === undefined ? staticShift : (s: number): number => Math.exp(cfg.mu as number) / (Math.exp(cfg.mu as number) + (1 / s - 1));
  // with dynamic shifting diffusers skips the construction-time shift
  const sigmaMax = 1;
  const sigmaMin = cfg.mu === undefined ? staticShift(1 / n) : 1 / n;
  const sigmas: number[] = [];
  for (let i = 0; i < steps; i++) sigmas.push(shift(cfg.pipelineSigmas ? linspaceAt(1, 1 / steps, steps, i) : linspaceAt(sigmaMax * n, sigmaMin * n, steps, i) / n));
  sigmas.push(0);
  const coeffs: StepCoefficients[] = sigmas.slice(0, steps).map((s, i) => ({
    x0: tweedieFlow(s),
    next: { x: 1, x0: 0, out: (sigmas[i + 1] as number) - s },
  }));
  return {
    kind: 'flow_euler',
    stochastic: false,
    prediction: 'flow',
    steps,
    timesteps: Float64Array.from(sigmas.slice(0, steps), (s) => s * n),
    initNoiseSigma: 1,
    inputScale: () => 1,
    coefficients: (i) => at(coeffs, i),
  };
}
