import { Rng } from '../../../core/engine/rng.js';
import { quantile } from '../../../core/sim/bootstrap.js';
import type { TraceSimulation } from '../../../core/sim/simulate.js';
import { SIM_SERIES } from '../sim-series.js';

/** One point of a reward-budget curve with its 95 % band. */
export interface BandPoint {
  readonly trace: string;
  readonly policy: string;
  readonly budget: number;
  /** mean best reward over the prompts */
  readonly mean: number;
  /** 2.5 % and 97.5 % quantiles of that mean over resampled prompts */
  readonly lo: number;
  readonly hi: number;
}

/**
 * Every policy's curve with a bootstrap band: the prompts are resampled with replacement (`resamples` times,
 * the same resamples at every budget and for every policy, as tune's error bars do) and the band is where the
 * mean of the resampled prompts falls 95 % of the time. Needs a simulation run with promptMeans.
 */
export function curveBands(trace: string, sim: TraceSimulation, resamples = 1000, seed = 0): BandPoint[] {
  const means = sim.prompt_means;
  if (!means) throw new RangeError('curveBands: the simulation ran without promptMeans');
  const prompts = means.bon[0]?.length ?? 0;
  const rng = new Rng(seed);
  const draws = Array.from({ length: resamples }, () => Array.from({ length: prompts }, () => rng.below(prompts)));
  const out: BandPoint[] = [];
  for (const s of SIM_SERIES) {
    sim.budgets.forEach((budget, b) => {
      const row = means[s.key][b] ?? [];
      const resampled = draws.map((idx) => idx.reduce((a, p) => a + (row[p] as number), 0) / prompts).sort((x, y) => x - y);
      out.push({ trace, policy: s.label, budget, mean: sim.curves[s.key][b] as number, lo: quantile(resampled, 0.025), hi: quantile(resampled, 0.975) });
    });
  }
  return out;
}
