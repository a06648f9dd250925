import { BudgetTooSmallError, ValidationError } from '../errors.js';
import type { CostModel } from './cost-model.js';
import type { Schedule } from './schedule.js';

/**
 * How executed work is charged.
 * - `exact` (default): a score at step s has cost s+1 denoise steps; a finished candidate costs all S steps;
 *   every score is one reward call per reward model.
 * - `paper`: the published simulator's formula, for comparison only. It under-charges one denoise step per
 *   candidate whenever the schedule prunes (a candidate pruned at s is charged s steps, a survivor S-1);
 *   best-of-N is charged S steps as in `exact`.
 */
export type Accounting = 'exact' | 'paper';
export const ACCOUNTINGS: readonly Accounting[] = ['exact', 'paper'];

export function parseAccounting(value: string, field = '--accounting'): Accounting {
  if (value === 'exact' || value === 'paper') return value;
  throw new ValidationError(field, `got '${value}'`, ACCOUNTINGS.join(' | '));
}

/** Denoise steps charged for one candidate that is scored last at step `lastStep` (S-1 when it finishes). */
export function chargedSteps(lastStep: number, schedule: Schedule, accounting: Accounting): number {
  return accounting === 'paper' && schedule.length > 0 ? lastStep : lastStep + 1;
}

/**
 * Expected cost of one candidate under the schedule: the fraction alive in each segment (the product of the
 * alphas so far, as the paper's cost model takes it) times that segment's steps and one score.
 */
export function expectedCostPerCandidate(schedule: Schedule, cost: CostModel, accounting: Accounting, rewards = 1): number {
  const score = cost.verify * rewards;
  let total = 0;
  let alive = 1;
  let prevLast = -1; // last step index already paid for
  const segmentEnds = [...schedule.map((p) => p.step), cost.steps - 1];
  segmentEnds.forEach((end, i) => {
    total += alive * ((end - prevLast) * cost.denoise + score);
    prevLast = end;
    const point = schedule[i];
    if (point) alive *= point.alpha;
  });
  if (accounting === 'paper' && schedule.length > 0) total -= cost.denoise; // the first segment is charged one step short
  return total;
}

/** N = floor(B / expected cost per candidate); throws naming `field` and the minimum budget when N < 1. */
export function candidatesForBudget(
  budget: number,
  schedule: Schedule,
  cost: CostModel,
  accounting: Accounting,
  rewards = 1,
  field = 'budget',
): number {
  if (!(Number.isFinite(budget) && budget > 0)) throw new ValidationError(field, `got ${budget}`, 'a finite number > 0');
  const perCandidate = expectedCostPerCandidate(schedule, cost, accounting, rewards);
  // A tiny epsilon keeps exact multiples (B = k * cost) from losing a candidate to float error.
  const n = Math.floor(budget / perCandidate + 1e-9);
  if (n < 1) throw new BudgetTooSmallError(field, budget, perCandidate);
  return n;
}
