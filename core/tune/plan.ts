import { candidatesForBudget, type Accounting } from '../engine/accounting.js';
import type { CostModel } from '../engine/cost-model.js';
import { plannedLedger } from '../engine/ledger.js';
import { formatSchedule, survivorCounts, type Schedule } from '../engine/schedule.js';
import { BudgetTooSmallError } from '../errors.js';

/**
 * A pruning plan at one budget in absolute counts: after denoising step `steps[i]`, keep `keeps[i]`
 * candidates. The tuner searches plans rather than alphas because the keep counts are what the reward
 * depends on, and because a plan can be turned into alphas that the engine runs exactly (realizePlan).
 * The empty plan is best-of-N.
 */
export interface Plan {
  readonly steps: readonly number[];
  readonly keeps: readonly number[];
}

/** What the tuner needs to price plans: the cost model, the accounting and how many candidates the trace holds. */
export interface PlanContext {
  readonly cost: CostModel;
  readonly accounting: Accounting;
  /** candidates per prompt in the trace: N may not exceed it */
  readonly candidates: number;
}

/** A plan made concrete at one budget: the schedule the engine runs, its N and the work it really costs. */
export interface RealizedPlan {
  readonly plan: Plan;
  readonly budget: number;
  /** candidates per prompt, as the engine derives it from the budget and the schedule */
  readonly n: number;
  readonly schedule: Schedule;
  /** cost of one prompt with n candidates and the schedule's real (rounded) keep counts */
  readonly cost: number;
  /** identifies (n, schedule): equal keys replay identically */
  readonly key: string;
}

export const BEST_OF_N: Plan = { steps: [], keeps: [] };

/** `2:8,6:3` (step:keep), or `bon` for the empty plan. */
export function formatPlan(plan: Plan): string {
  return plan.steps.length === 0 ? 'bon' : plan.steps.map((s, i) => `${s}:${plan.keeps[i]}`).join(',');
}

/** True when steps strictly increase within [0, S-2] and keeps strictly decrease and stay >= 1. */
export function isValidPlan(plan: Plan, steps: number): boolean {
  if (plan.steps.length !== plan.keeps.length) return false;
  for (let i = 0; i < plan.steps.length; i++) {
    const s = plan.steps[i] as number;
    const k = plan.keeps[i] as number;
    if (!Number.isInteger(s) || s < 0 || s > steps - 2 || !Number.isInteger(k) || k < 1) return false;
    if (i > 0 && (s <= (plan.steps[i - 1] as number) || k >= (plan.keeps[i - 1] as number))) return false;
  }
  return true;
}

/** The alphas that turn n candidates into exactly the plan's keep counts: alpha_i = keep_i / keep_(i-1). */
export function scheduleFor(n: number, plan: Plan): Schedule {
  let prev = n;
  return plan.steps.map((step, i) => {
    const keep = plan.keeps[i] as number;
    const alpha = keep / prev;
    prev = keep;
    return { step, alpha };
  });
}

/** Cost of one prompt searched with n candidates under a schedule, with the real keep counts (the engine's ledger). */
export function scheduleCost(n: number, schedule: Schedule, ctx: PlanContext): number {
  return plannedLedger(n, schedule, ctx.cost, ctx.accounting, ['reward']).cost;
}

/**
 * The schedule for a plan at a budget, or null when the plan does not fit: N is the largest count whose real
 * cost stays within the budget (so rounding of keep counts can never overspend), the engine must derive the
 * same N from the budget, and N may not exceed the trace's candidates (a plan that would need more wastes
 * budget; a plan with larger keeps uses it). With alpha_i = k_i / k_(i-1) the engine's expected cost per
 * candidate is the real cost / N, so its N = floor(B / cost * N) is exactly this N.
 */
export function realizePlan(plan: Plan, budget: number, ctx: PlanContext): RealizedPlan | null {
  const first = plan.keeps[0];
  let n: number;
  if (first === undefined) {
    try {
      n = candidatesForBudget(budget, [], ctx.cost, ctx.accounting);
    } catch (err) {
      if (err instanceof BudgetTooSmallError) return null;
      throw err;
    }
    if (n > ctx.candidates) return null;
  } else {
    const fits = (m: number): boolean => scheduleCost(m, scheduleFor(m, plan), ctx) <= budget;
    let lo = first + 1; // smallest N that prunes at all
    if (lo > ctx.candidates || !fits(lo)) return null;
    let hi = ctx.candidates;
    if (fits(hi)) {
      // Even all candidates leave budget unspent: only acceptable when the engine also stops at them.
      lo = hi;
    } else {
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (fits(mid)) lo = mid;
        else hi = mid;
      }
    }
    n = lo;
  }
  const schedule = scheduleFor(n, plan);
  // Ask the engine: it must derive this N and these keep counts, or the plan is not what would run.
  let engineN: number;
  try {
    engineN = candidatesForBudget(budget, schedule, ctx.cost, ctx.accounting);
  } catch (err) {
    if (err instanceof BudgetTooSmallError) return null;
    throw err;
  }
  if (engineN !== n) return null;
  const counts = survivorCounts(n, schedule);
  if (counts.some((c, i) => i > 0 && c !== plan.keeps[i - 1])) return null;
  const cost = scheduleCost(n, schedule, ctx);
  if (cost > budget * (1 + 1e-12)) return null;
  return { plan, budget, n, schedule, cost, key: `${n}|${formatSchedule(schedule)}` };
}
