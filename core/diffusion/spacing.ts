import { ValidationError } from '../errors.js';
import { roundHalfEven } from '../engine/rounding.js'; // numpy.round, as diffusers rounds timesteps

/** How inference timesteps are picked out of the N training timesteps (diffusers `timestep_spacing`). */
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

/**
 * Integer timesteps for DDIM, descending, exactly as diffusers' DDIMScheduler.set_timesteps:
 * linspace: round(linspace(0, N-1, S)) reversed; leading: arange(S) * (N // S) reversed, + steps_offset;
 * trailing: round(arange(N, 0, -N/S)) - 1.
 */
export function discreteTimesteps(spacing: TimestepSpacing, trainSteps: number, steps: number, stepsOffset: number): Int32Array {
  checkSteps(trainSteps, steps);
  const out = new Int32Array(steps);
  if (spacing === 'linspace') {
    for (let i = 0; i < steps; i++) out[steps - 1 - i] = roundHalfEven(linspaceAt(0, trainSteps - 1, steps, i));
  } else if (spacing === 'leading') {
    const ratio = Math.floor(trainSteps / steps);
    for (let i = 0; i < steps; i++) out[steps - 1 - i] = i * ratio + stepsOffset;
  } else if (spacing === 'trailing') {
    const ratio = trainSteps / steps;
    for (let i = 0; i < steps; i++) out[i] = roundHalfEven(trainSteps - i * ratio) - 1;
  } else throw badSpacing(spacing);
  return out;
}

/**
 * Float timesteps for EulerDiscreteScheduler.set_timesteps, descending: linspace keeps the fractional
 * linspace(0, N-1, S); leading and trailing are the same integers as DDIM's (stored as floats).
 */
export function eulerTimesteps(spacing: TimestepSpacing, trainSteps: number, steps: number, stepsOffset: number): Float64Array {
  checkSteps(trainSteps, steps);
  if (spacing !== 'linspace') return Float64Array.from(discreteTimesteps(spacing, trainSteps, steps, stepsOffset));
  const out = new Float64Array(steps);
  for (let i = 0; i < steps; i++) out[steps - 1 - i] = Math.fround(linspaceAt(0, trainSteps - 1, steps, i));
  return out;
}

/** numpy.linspace(a, b, n)[i] (numpy computes a + i * step with step = (b - a) / (n - 1), and sets the last exactly). */
export function linspaceAt(a: number, b: number, n: number, i: number): number {
  if (n === 1) return a;
  if (i === n - 1) return b;
  return a + i * ((b - a) / (n - 1));
}

export function parseSpacing(value: unknown, field = 'scheduler.timestep_spacing'): TimestepSpacing {
  if (value === 'leading' || value === 'trailing' || value === 'linspace') return value;
  throw badSpacing(value, field);
}

function badSpacing(value: unknown, field = 'scheduler.timestep_spacing'): ValidationError {
  return new ValidationError(field, `got '${String(value)}'`, 'leading | trailing | linspace');
}

function checkSteps(trainSteps: number, steps: number): void {
  if (!Number.isInteger(steps) || steps < 1 || steps > trainSteps) {
    throw new ValidationError('sampling.steps', `got ${steps}`, `an integer in [1, ${trainSteps}] (num_train_timesteps)`);
  }
}
