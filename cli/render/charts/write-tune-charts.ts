import type { TuneResult } from '../../../core/tune/tune.js';
import { writeRewardBudgetChart, writeTunedScheduleChart } from './write-sim-charts.js';

/**
 * tune's charts: the validation curves with their bootstrap bands (`<base>.svg/.png`, the same resamples as
 * the printed error bars when `seed` is tune's --seed) and the tuned schedule per budget
 * (`<base>-schedule.svg/.png`). Returns the paths.
 */
export async function writeTuneCharts(base: string, results: readonly TuneResult[], seed: number): Promise<string[]> {
  const stem = base.replace(/\.(png|svg)$/i, '');
  const curves = await writeRewardBudgetChart(stem, results.map((r) => ({ name: r.name, sim: r.validation })), seed, 'Validation: best reward against budget (tuned schedules)');
  const tuned = results.flatMap((r) => r.choices.map((c) => ({ trace: r.name, budget: c.budget, n: c.best.realized.n, schedule: c.best.realized.schedule })));
  return [...curves, ...(await writeTunedScheduleChart(`${stem}-schedule`, tuned))];
}
