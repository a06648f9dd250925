import { makePolicy } from '../engine/policy.js';
import { meanBestRewards, type SimulateOptions } from '../sim/simulate.js';
import { Replayer, traceRanks, type TraceRanks } from '../sim/replay.js';
import type { RewardTrace } from '../trace/reward-trace.js';
import type { RealizedPlan } from './plan.js';

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

  constructor(
    readonly trace: RewardTrace,
    readonly opts: EvaluatorOptions,
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
      replayer = new Replayer(this.trace, makePolicy(plan.schedule.length ? 'ttsnap' : 'bon', plan.schedule), this.ranks);
      this.replayers.set(schedKey, replayer);
    }
    const sim: SimulateOptions = { ...this.opts, draws, seed, schedule: plan.schedule };
    const value = meanBestRewards([replayer], this.trace.candidates, plan.n, sim, budgetIndex)[0] as number;
    this.cache.set(key, value);
    this.evaluations++;
    this.replays += draws * (this.opts.prompts[1] - this.opts.prompts[0]);
    return value;
  }
}
