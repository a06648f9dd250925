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
  /** passes at most (default 6): the draws double each pass, so later ones cost more than they add */
  readonly maxPasses?: number;
  readonly onProgress?: (p: SearchProgress) => void;
}

/** Shares of the search time: screening, then the first refining pass; later passes split what is left. */
const PASS_SHARES = [0.4, 0.35];
/** Plans of the previous pass carried into the next at each budget. */
const CARRY = 4;

/**
 * Chooses a plan per budget on the training prompts, in passes that stop at the deadline (checked between
 * evaluations). Pass 0 screens the seed plans and the previous budget's winner with few draws and
 * hill-climbs from the best; each later pass re-scores the previous pass's best plans, and the winners of
 * the neighbouring budgets, on fresh draws with more of them (so a plan that won by draw luck loses its
 * lead), then hill-climbs again. A budget's choice comes from the last pass that finished it, so a pass cut
 * short by the deadline never leaves a budget worse off. Best-of-N is always a candidate.
 */
export function searchSchedules(evaluator: PlanEvaluator, opts: SearchOptions): BudgetChoice[] {
  const nb = opts.budgets.length;
  const bonAt = opts.budgets.map((b) => realizePlan(BEST_OF_N, b, opts.ctx));
  let choices: (BudgetChoice | null)[] = opts.budgets.map(() => null);
  let pools: ScoredPlan[][] = opts.budgets.map(() => []);
  const seeds = seedPlans(opts.space);
  for (let pass = 0; pass < (opts.maxPasses ?? 6) && !opts.deadline.passed(); pass++) {
    // This pass's share of what is left: PASS_SHARES of the whole search, later passes all that remains.
    const spent = PASS_SHARES.slice(0, pass).reduce((a, b) => a + b, 0);
    const fraction = pass < PASS_SHARES.length ? (PASS_SHARES[pass] as number) / (1 - spent) : 1;
    const passDeadline = opts.deadline.within(opts.deadline.remaining() * fraction);
    const draws = pass === 0 ? Math.max(2, Math.round(opts.draws / 3)) : opts.draws * 2 ** (pass - 1);
    const seed = opts.seed + pass;
    const nextPools: ScoredPlan[][] = opts.budgets.map(() => []);
    const nextChoices = choices.slice();
    for (let bi = 0; bi < nb && !opts.deadline.passed(); bi++) {
      const budget = opts.budgets[bi] as number;
      const bon = bonAt[bi];
      if (!bon) continue; // the budget buys no candidate: the CLI has rejected it before
      const budgetDeadline = passDeadline.within(passDeadline.remaining() / (nb - bi));
      if (budgetDeadline.passed()) break; // every evaluation starts before the deadline
      const starts: Plan[] =
        pass === 0
          ? [...(nextChoices[bi - 1] ? [(nextChoices[bi - 1] as BudgetChoice).best.realized.plan] : []), ...seeds]
          : [
              ...(pools[bi] ?? []).slice(0, CARRY).map((s) => s.realized.plan),
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
      for (const start of ranked().slice(0, pass === 0 ? 2 : 1)) {
        climb(start, pool, (plans) => scoreAll(plans), opts.space, budgetDeadline);
      }
      const sorted = ranked();
      nextPools[bi] = sorted;
      nextChoices[bi] = { budget, best: sorted[0] as ScoredPlan, bon: bonScored, pass, draws };
      opts.onProgress?.({ pass, budgetIndex: bi, budgets: nb, choice: nextChoices[bi] as BudgetChoice, evaluations: evaluator.evaluations });
      if (bi === nb - 1) {
        // The pass finished every budget: its choices replace the previous pass's.
        choices = nextChoices;
        pools = nextPools;
      }
    }
    if (opts.deadline.passed() && choices !== nextChoices) {
      // A pass cut short: keep its finished budgets only where the previous pass had nothing.
      choices = choices.map((c, i) => c ?? nextChoices[i] ?? null);
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
