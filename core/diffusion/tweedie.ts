/**
 * Tweedie estimates x0_hat of the clean sample from a noisy sample x_t and the model output, written as
 * x0_hat = cx * x_t + cOut * out so that schedulers and the pipeline share one elementwise loop.
 * abar is alphas_cumprod[t]; sigma is the flow-matching noise level.
 */
export interface Linear2 {
  readonly x: number;
  readonly out: number;
}

/** epsilon prediction: x0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar) */
export function tweedieEpsilon(abar: number): Linear2 {
  const s = Math.sqrt(abar);
  return { x: 1 / s, out: -Math.sqrt(1 - abar) / s };
}

/** v prediction: x0 = sqrt(abar) x_t - sqrt(1 - abar) v */
export function tweedieV(abar: number): Linear2 {
  return { x: Math.sqrt(abar), out: -Math.sqrt(1 - abar) };
}

/** flow matching (x_t = (1 - sigma) x0 + sigma noise, v = noise - x0): x0 = x_t - sigma v */
export function tweedieFlow(sigma: number): Linear2 {
  return { x: 1, out: -sigma };
}

/** Writes cx * x + cOut * out into dst (all the same length). */
export function applyLinear(c: Linear2, x: Float32Array, out: Float32Array, dst: Float32Array): Float32Array {
  for (let i = 0; i < dst.length; i++) dst[i] = c.x * (x[i] as number) + c.out * (out[i] as number);
  return dst;
}
