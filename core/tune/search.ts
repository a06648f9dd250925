import type { Deadline } from './deadline.js';
import type { PlanEvaluator } from './evaluator.js';
import { neighbours, seedPlans, type PlanSpace } from './moves.js';
import { BEST_OF_N, realizePlan, type Plan, type PlanContext, type RealizedPlan } from './plan.js';

/** A realized plan and its mean final reward on the training prompts. */
export interface ScoredPlan {
  readonly realized: RealizedPlan;
  readonly score: number;
}

/** The plan chosen at one budget, with best-of-N's score on the same draws. */
export interface BudgetChoice {
  readonly budget: number;
  readonly best: ScoredPlan;
  readonly bon: ScoredPlan;
  /** the pass that chose it (0 = screening) and its draws */
  readonly pass: number;
  readonly draws: number;
}

export interface SearchProgress {
  readonly pass: number;
  readonly budgetIndex: number;
  readonly budgets: number;
  readonly choice: BudgetChoice;
  readonly evaluations: number;
  /** seconds the search has left (the validation's reserve already kept back) */
  readonly secondsLeft: number;
}

export interface SearchOptions {
  readonly space: PlanSpace;
  readonly ctx: PlanContext;
  readonly budgets: readonly number[];
  /** seed of the draws; pass p draws with seed + p, so every pass sees fresh draws */
  readonly seed: number;
  /** draws per plan in the first refining pass; screening uses a third, later passes double */
  readonly draws: number;
  readonly deadline: Deadline;
  /** passes at most (default 8): the draws double each pass, so later ones cost more than they add */
  readonly maxPasses?: number;
  readonly tuning?: Partial<SearchTuning>;
  readonly onProgress?: (p: SearchProgress) => void;
}

/** Knobs of the search; the defaults are what `npm run bench:tune` measured best. */
export interface SearchTuning {
  /** shares of the search time of the screening pass and the first refining pass; later passes split the rest */
  readonly passShares: readonly number[];
  /** plans of the previous pass carried into the next at each budget */
  readonly carry: number;
  /** best plans each pass hill-climbs from: screening, later passes */
  readonly climbs: readonly [number, number];
}

export const SEARCH_TUNING: SearchTuning = { passShares: [0.4, 0.35], carry: 6, climbs: [3, 2] };

/**
 * Chooses a plan per budget on the training prompts, in passes that stop at the deadline (checked between
 * evaluations). Pass 0 screens the seed plans and the previous budget's winner with few draws and
 * hill-climbs from the best; each later pass re-scores the previous pass's best plans, and the current
 * winners of the neighbouring budgets, on fresh draws with more of them (so a plan that won by draw luck
 * loses its lead), then hill-climbs again. A budget's choice comes from the last pass that finished it; a
 * budget no pass reached runs best-of-N. Best-of-N is always a candidate.
 */
export function searchSchedules(evaluator: PlanEvaluator, opts: SearchOptions): BudgetChoice[] {
  const nb = opts.budgets.length;
  const { passShares, carry, climbs } = { ...SEARCH_TUNING, ...opts.tuning };
  const bonAt = opts.budgets.map((b) => realizePlan(BEST_OF_N, b, opts.ctx));
  // The latest pass that finished a budget decides it (more draws, fresh ones); pools feed the next pass.
  const choices: (BudgetChoice | null)[] = opts.budgets.map(() => null);
  const pools: ScoredPlan[][] = opts.budgets.map(() => []);
  const seeds = seedPlans(opts.space);
  for (let pass = 0; pass < (opts.maxPasses ?? 8) && !opts.deadline.passed(); pass++) {
    // This pass's share of what is left: passShares of the whole search, later passes all that remains.
    const spent = passShares.slice(0, pass).reduce((a, b) => a + b, 0);
    const fraction = pass < passShares.length ? (passShares[pass] as number) / (1 - spent) : 1;
    const passDeadline = opts.deadline.within(opts.deadline.remaining() * fraction);
    const draws = pass === 0 ? Math.max(2, Math.round(opts.draws / 3)) : opts.draws * 2 ** (pass - 1);
    const seed = opts.seed + pass;
    for (let bi = 0; bi < nb; bi++) {
      const budget = opts.budgets[bi] as number;
      const bon = bonAt[bi];
      if (!bon) continue; // the budget buys no candidate: the CLI has rejected it before
      const budgetDeadline = passDeadline.within(passDeadline.remaining() / (nb - bi));
      if (budgetDeadline.passed()) break; // every evaluation starts before the deadline
      const pool0 = pools[bi] as ScoredPlan[];
      const starts: Plan[] = [
        ...(pool0.length ? pool0.slice(0, carry).map((s) => s.realized.plan) : seeds),
        ...[choices[bi - 1], choices[bi + 1]].flatMap((c) => (c ? [c.best.realized.plan] : [])),
      ];
      const bonScored: ScoredPlan = { realized: bon, score: evaluator.score(bon, bi, draws, seed) };
      const pool = new Map<string, ScoredPlan>([[bon.key, bonScored]]);
      const scoreAll = (plans: readonly Plan[]): void => {
        for (const plan of plans) {
          if (budgetDeadline.passed()) return;
          const r = realizePlan(plan, budget, opts.ctx);
          if (!r || pool.has(r.key)) continue;
          pool.set(r.key, { realized: r, score: evaluator.score(r, bi, draws, seed) });
        }
      };
      scoreAll(starts);
      const ranked = (): ScoredPlan[] => [...pool.values()].sort((a, b) => b.score - a.score);
      for (const start of ranked().slice(0, climbs[pool0.length ? 1 : 0])) {
        climb(start, pool, scoreAll, opts.space, budgetDeadline);
      }
      // A pass cut short before it re-scored the previous choice compares too few plans: keep the old one.
      const previous = choices[bi];
      if (previous && !pool.has(previous.best.realized.key)) break;
      const sorted = ranked();
      pools[bi] = sorted;
      const choice: BudgetChoice = { budget, best: sorted[0] as ScoredPlan, bon: bonScored, pass, draws };
      choices[bi] = choice;
      opts.onProgress?.({ pass, budgetIndex: bi, budgets: nb, choice, evaluations: evaluator.evaluations, secondsLeft: opts.deadline.remaining() / 1000 });
    }
  }
  return opts.budgets.map((budget, bi) => {
    const c = choices[bi];
    if (c) return c;
    const bon = bonAt[bi] as RealizedPlan;
    const none: ScoredPlan = { realized: bon, score: Number.NaN };
    return { budget, best: none, bon: none, pass: -1, draws: 0 };
  });
}

/** Best-improvement hill climbing from `start`; stops at a local optimum or the deadline. */
function climb(
  start: ScoredPlan,
  pool: Map<string, ScoredPlan>,
  scoreAll: (plans: readonly Plan[]) => void,
  space: PlanSpace,
  deadline: Deadline,
): void {
  let current = start;
  while (!deadline.passed()) {
    scoreAll(neighbours(current.realized.plan, space));
    let best = current;
    for (const s of pool.values()) if (s.score > best.score) best = s;
    if (best === current) return;
    current = best;
  }
}
