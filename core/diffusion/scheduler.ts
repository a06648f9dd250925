import type { Linear2 } from './tweedie.js';

/** What the model predicts (diffusers `prediction_type`; `flow` = flow-matching velocity). */
export type Prediction = 'epsilon' | 'v_prediction' | 'flow';

/**
 * One sampling step as coefficients, elementwise over a latent (every scheduler here is linear in the
 * sample, the model output and the step's fresh noise z, up to an optional clip of x0):
 *   x0   = clip(x0.x * x + x0.out * out)
 *   next = next.x * x + next.x0 * x0 + next.out * out + noise * z
 */
export interface StepCoefficients {
  readonly x0: Linear2;
  readonly next: { readonly x: number; readonly x0: number; readonly out: number };
  /** clip x0 to [-clip, clip] (DDIM clip_sample); undefined = no clip */
  readonly clip?: number;
  /**
   * ancestral samplers: the scale (sigma_up) of the fresh noise z added at this step, drawn by the caller as
   * stepNoise(seed, step) (core/diffusion/noise.ts); undefined or 0 = deterministic
   */
  readonly noise?: number;
}

/**
 * A scheduler configured for a number of sampling steps. Stateless about candidates (a candidate's state is
 * its latent and its step index alone), so candidates can move between workers and batches.
 */
export interface DiffusionScheduler {
  readonly kind: 'ddim' | 'euler' | 'euler_ancestral' | 'flow_euler';
  /** true when some step adds fresh noise (coefficients(i).noise > 0): the caller must pass stepNoise */
  readonly stochastic: boolean;
  readonly prediction: Prediction;
  /** sampling steps S; step indices run 0..S-1 */
  readonly steps: number;
  /** the model's timestep input at each step index (float; integer-valued for DDIM) */
  readonly timesteps: Float64Array;
  /** the initial latent is noise * initNoiseSigma */
  readonly initNoiseSigma: number;
  /** the model input at step i is x * inputScale(i) (Euler: 1 / sqrt(sigma^2 + 1)) */
  inputScale(i: number): number;
  coefficients(i: number): StepCoefficients;
}

/**
 * Applies step i to a batch: from x (the latent entering step i) and the model output, writes the latent
 * after step i into `next` and the Tweedie estimate into `x0`. Arrays may hold several candidates back to back;
 * `z` is the step's fresh noise (same length), required where the step is ancestral (c.noise > 0).
 */
export function applyStep(c: StepCoefficients, x: Float32Array, out: Float32Array, next: Float32Array, x0: Float32Array, z?: Float32Array): void {
  const { x0: a, next: b, clip } = c;
  const up = c.noise ?? 0;
  if (up !== 0 && z?.length !== x.length) throw new RangeError(`an ancestral step needs ${x.length} noise values, got ${z?.length ?? 'none'}`);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i] as number;
    const oi = out[i] as number;
    let e = a.x * xi + a.out * oi;
    if (clip !== undefined) e = e < -clip ? -clip : e > clip ? clip : e;
    x0[i] = e;
    next[i] = b.x * xi + b.x0 * e + b.out * oi + (up !== 0 ? up * ((z as Float32Array)[i] as number) : 0);
  }
}
