import { makePolicy } from '../engine/policy.js';
import { meanBestRewards, type SimulateOptions } from '../sim/simulate.js';
import { Replayer, traceRanks, type TraceRanks } from '../sim/replay.js';
import type { RewardTrace } from '../trace/reward-trace.js';
import { systemClock, type Clock } from './deadline.js';
import type { RealizedPlan } from './plan.js';

/** Evaluations left out of the speed figure, and how many of the latest ones it is the median of. */
const WARM_UP = 30;
const RATE_WINDOW = 63;

/** How the tuner scores plans: on which prompts, with how many draws, seeded how. */
export interface EvaluatorOptions extends Pick<SimulateOptions, 'budgets' | 'cost' | 'accounting'> {
  /** [start, end) training prompts: the only prompts the tuner ever reads */
  readonly prompts: readonly [number, number];
}

/**
 * Scores realized plans on the training prompts by running the simulator (core/sim, hence the engine's
 * PromptSearch): the mean over draws of the mean over prompts of the winner's final reward. Every plan at a
 * budget is scored on the same draws (common random numbers: the draw generator depends only on the seed and
 * the budget index), so differences between plans are not swamped by draw noise. Results are cached per
 * (budget, plan, draws, seed).
 */
export class PlanEvaluator {
  private readonly ranks: TraceRanks;
  private readonly replayers = new Map<string, Replayer>();
  private readonly cache = new Map<string, number>();
  /** replays run so far (prompt x draw), for progress and speed figures */
  replays = 0;
  evaluations = 0;
  /** ms per replay of the latest evaluations after the warm-up, newest last (a window: see msPerReplay) */
  private readonly rates: number[] = [];
  /** clock milliseconds spent building rank tables (the validation builds its own) */
  rankMs = 0;

  constructor(
    readonly trace: RewardTrace,
    readonly opts: EvaluatorOptions,
    private readonly clock: Clock = systemClock,
  ) {
    this.ranks = traceRanks(trace);
  }

  /** Mean final reward of the plan at its budget (index `budgetIndex` of the grid) over `draws` draws of `seed`. */
  score(plan: RealizedPlan, budgetIndex: number, draws: number, seed: number): number {
    const key = `${budgetIndex}|${plan.key}|${draws}|${seed}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const schedKey = plan.key.slice(plan.key.indexOf('|') + 1);
    let replayer = this.replayers.get(schedKey);
    if (!replayer) {
      const t0 = this.clock.now();
      replayer = new Replayer(this.trace, makePolicy(plan.schedule.length ? 'ttsnap' : 'bon', plan.schedule), this.ranks);
      this.rankMs += this.clock.now() - t0; // a replayer fills the rank tables of steps not seen before
      this.replayers.set(schedKey, replayer);
    }
    const sim: SimulateOptions = { ...this.opts, draws, seed, schedule: plan.schedule };
    const t0 = this.clock.now();
    const value = meanBestRewards([replayer], this.trace.candidates, plan.n, sim, budgetIndex)[0] as number;
    const replays = draws * (this.opts.prompts[1] - this.opts.prompts[0]);
    // The first evaluations run before the JIT has warmed up: timing them would overstate the cost.
    if (this.evaluations >= WARM_UP) {
      this.rates.push((this.clock.now() - t0) / replays);
      if (this.rates.length > RATE_WINDOW) this.rates.shift();
    }
    this.cache.set(key, value);
    this.evaluations++;
    this.replays += replays;
    return value;
  }

  /**
   * Milliseconds per replay of one prompt: the median of the latest evaluations, so that one evaluation
   * stalled by the scheduler or the garbage collector does not move it (0 until the warm-up is done).
   */
  msPerReplay(): number {
    if (this.rates.length === 0) return 0;
    const sorted = [...this.rates].sort((a, b) => a - b);
    return sorted[sorted.length >> 1] as number;
  }
}
