import { ValidationError } from '../errors.js';
import { roundHalfEven } from './rounding.js';

/** Prune after denoising step `step` (0-based), keeping a fraction `alpha` of the candidates still alive. */
export interface PrunePoint {
  readonly step: number;
  readonly alpha: number;
}

/** Prune points in strictly increasing step order. Empty = best-of-N (no pruning). */
export type Schedule = readonly PrunePoint[];

/** The paper's default schedule (prune at steps 2, 6, 11 keeping 0.4, 0.4, 0.5). */
export const PAPER_SCHEDULE: Schedule = [
  { step: 2, alpha: 0.4 },
  { step: 6, alpha: 0.4 },
  { step: 11, alpha: 0.5 },
];

/** Checks steps strictly increasing in [0, S-2] and alpha in (0, 1]; throws naming `field`. */
export function compileSchedule(points: readonly PrunePoint[], steps: number, field = 'schedule'): Schedule {
  let prev = -1;
  points.forEach((p, i) => {
    if (!Number.isInteger(p.step) || p.step < 0 || p.step > steps - 2) {
      throw new ValidationError(`${field}[${i}].step`, `got ${p.step}`, `an integer in [0, ${steps - 2}] (steps - 2)`);
    }
    if (p.step <= prev) {
      throw new ValidationError(`${field}[${i}].step`, `${p.step} does not follow ${prev}`, 'strictly increasing steps');
    }
    if (!(Number.isFinite(p.alpha) && p.alpha > 0 && p.alpha <= 1)) {
      throw new ValidationError(`${field}[${i}].alpha`, `got ${p.alpha}`, 'a number in (0, 1]');
    }
    prev = p.step;
  });
  return points.map((p) => ({ step: p.step, alpha: p.alpha }));
}

/** Parses `2:0.4,6:0.4,11:0.5` (an empty string is best-of-N). */
export function parseScheduleSpec(spec: string, steps: number, field = '--schedule'): Schedule {
  const points: PrunePoint[] = [];
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(-?\d+):([-+0-9.eE]+)$/.exec(part);
    if (!m) throw new ValidationError(field, `cannot read '${part}'`, 'step:alpha pairs such as 2:0.4,6:0.4,11:0.5');
    points.push({ step: Number(m[1]), alpha: Number(m[2]) });
  }
  return compileSchedule(points, steps, field);
}

export function formatSchedule(schedule: Schedule): string {
  return schedule.map((p) => `${p.step}:${p.alpha}`).join(',');
}

/** The paper's keep rule: max(1, round_half_even(n * alpha)). */
export function keepCount(n: number, alpha: number): number {
  return Math.max(1, roundHalfEven(n * alpha));
}

/** Alive candidates entering each stage: [n, keep(n, a1), keep(keep(n, a1), a2), ...] (length points + 1). */
export function survivorCounts(n: number, schedule: Schedule): number[] {
  const counts = [n];
  let alive = n;
  for (const p of schedule) {
    alive = keepCount(alive, p.alpha);
    counts.push(alive);
  }
  return counts;
}
