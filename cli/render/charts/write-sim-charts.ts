import type { TraceSimulation } from '../../../core/sim/simulate.js';
import { curveBands } from './curve-band.js';
import { writeChart } from './render.js';
import { rewardBudgetSpec } from './reward-budget.js';
import { tunedScheduleSpec, type TunedBudget } from './tuned-schedule.js';

/** One trace's simulation (run with promptMeans) and its name. */
export interface NamedSimulation {
  readonly name: string;
  readonly sim: TraceSimulation;
}

/**
 * Writes the reward-budget chart of simulate or tune (`<base>.svg`, `<base>.png`): each policy's mean best
 * reward per budget with its 95 % bootstrap band, one panel per trace; the bands' resamples are seeded by
 * `seed`. Returns the paths.
 */
export function writeRewardBudgetChart(base: string, sims: readonly NamedSimulation[], seed: number, title?: string): Promise<string[]> {
  return writeChart(base, rewardBudgetSpec(sims.flatMap((s) => curveBands(s.name, s.sim, 1000, seed)), title));
}

/** Writes the tuned-schedule chart (`<base>.svg`, `<base>.png`). */
export function writeTunedScheduleChart(base: string, tuned: readonly TunedBudget[]): Promise<string[]> {
  return writeChart(base, tunedScheduleSpec(tuned));
}
