import { relativeIncreasePct } from '../engine/metric.js';
import { Rng } from '../engine/rng.js';
import type { PolicyName } from '../engine/policy.js';
import type { TraceSimulation } from './simulate.js';

/** Resamples behind the error bars that tune prints: enough that the standard error is stable to ~2 %. */
export const BOOTSTRAP_RESAMPLES = 1000;

/** One trace's simulation in per-prompt form: each prompt's mean winner reward, `[budget index][prompt]`. */
export interface PromptCurves {
  readonly budgets: readonly number[];
  readonly method: readonly (readonly number[])[];
  readonly bon: readonly (readonly number[])[];
}

/** A simulation run with promptMeans, as PromptCurves of one policy against best-of-N. */
export function promptCurves(sim: TraceSimulation, policy: Exclude<PolicyName, 'bon'>): PromptCurves {
  if (!sim.prompt_means) throw new RangeError('promptCurves: the simulation ran without promptMeans');
  return { budgets: sim.budgets, method: sim.prompt_means[policy], bon: sim.prompt_means.bon };
}

/** How far a figure moves when other prompts of the same kind are scored. */
export interface Spread {
  /** standard deviation of the figure over the resamples: its bootstrap standard error */
  readonly se: number;
  /** 2.5 % and 97.5 % quantiles of the resampled figure */
  readonly ci95: readonly [number, number];
}

export interface BootstrapOptions {
  /** resamples of the prompts (>= 2) */
  readonly resamples: number;
  readonly seed: number;
}

/**
 * The spread of each set's relative increase, and of their mean, that comes from which prompts were scored: the prompts are resampled with replacement and the metric recomputed on each resample. Every set
 * is resampled with the same prompt indices because the traces of one run share their prompt list (in the
 * paper's six, a prompt's mean reward correlates 0.8 across FLUX and SDXL), so the spread of the mean over
 * sets counts what the sets have in common instead of averaging it away.
 */
export function bootstrapRelativeIncrease(sets: readonly PromptCurves[], { resamples, seed }: BootstrapOptions): { each: Spread[]; mean: Spread } {
  const first = sets[0];
  if (!first) throw new RangeError('bootstrap: no prompt curves');
  const prompts = first.bon[0]?.length ?? 0;
  for (const s of sets) {
    const rows = [...s.bon, ...s.method];
    if (s.bon.length !== s.budgets.length || s.method.length !== s.budgets.length || rows.some((r) => r.length !== prompts) || prompts === 0) {
      throw new RangeError(`bootstrap: every set needs one row of ${prompts || 'some'} prompts per budget`);
    }
  }
  if (!(Number.isInteger(resamples) && resamples >= 2)) throw new RangeError(`bootstrap: resamples must be an integer >= 2, got ${resamples}`);
  const figure = (s: PromptCurves, weights: Float64Array): number => {
    const curve = (rows: readonly (readonly number[])[]): number[] => rows.map((row) => row.reduce((a, v, p) => a + (weights[p] as number) * v, 0) / prompts);
    return relativeIncreasePct(s.budgets, curve(s.method), curve(s.bon));
  };
  const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const draws: number[][] = sets.map(() => []);
  const means: number[] = [];
  forEachResample(prompts, { resamples, seed }, (weights) => {
    const figures = sets.map((s, k) => {
      const f = figure(s, weights);
      (draws[k] as number[]).push(f);
      return f;
    });
    means.push(mean(figures));
  });
  return { each: draws.map(spread), mean: spread(means) };
}

/**
 * Calls `fn` once per resample with each prompt's multiplicity in it (prompts drawn with replacement, the
 * weights sum to `prompts`); the same seed gives the same resamples, so figures resampled together share them.
 */
function forEachResample(prompts: number, { resamples, seed }: BootstrapOptions, fn: (weights: Float64Array) => void): void {
  const rng = new Rng(seed);
  const weights = new Float64Array(prompts);
  for (let r = 0; r < resamples; r++) {
    weights.fill(0);
    for (let i = 0; i < prompts; i++) {
      const p = rng.below(prompts);
      weights[p] = (weights[p] as number) + 1;
    }
    fn(weights);
  }
}

/**
 * The bootstrap spread of the mean over prompts of each row (one value per prompt; every row has the same
 * prompts, resampled with the same indices): e.g. a per-prompt rank correlation at each step.
 */
export function bootstrapMeans(rows: readonly (readonly number[])[], opts: BootstrapOptions): Spread[] {
  const prompts = rows[0]?.length ?? 0;
  if (prompts === 0 || rows.some((r) => r.length !== prompts)) throw new RangeError('bootstrap: every row needs one value per prompt, and at least one prompt');
  if (!(Number.isInteger(opts.resamples) && opts.resamples >= 2)) throw new RangeError(`bootstrap: resamples must be an integer >= 2, got ${opts.resamples}`);
  const draws: number[][] = rows.map(() => []);
  forEachResample(prompts, opts, (weights) => {
    rows.forEach((row, k) => (draws[k] as number[]).push(row.reduce((a, v, p) => a + (weights[p] as number) * v, 0) / prompts));
  });
  return draws.map(spread);
}

function spread(draws: readonly number[]): Spread {
  const m = draws.reduce((a, b) => a + b, 0) / draws.length;
  const se = Math.sqrt(draws.reduce((a, d) => a + (d - m) ** 2, 0) / (draws.length - 1));
  const sorted = [...draws].sort((a, b) => a - b);
  return { se, ci95: [quantile(sorted, 0.025), quantile(sorted, 0.975)] };
}

/** Quantile q of sorted values, linear between order statistics (numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return (sorted[lo] as number) + (at - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}
