import { formatPlan, isValidPlan, type Plan } from './plan.js';

/** Limits of the plan space: sampling steps S (prune steps lie in [0, S-2]) and the most prune points. */
export interface PlanSpace {
  readonly steps: number;
  readonly maxStages: number;
  /**
   * steps a prune point may sit at, ascending (default every step in [0, S-2]): a collected trace's variant
   * steps, where a noise-aware reward exists to prune with
   */
  readonly pruneSteps?: readonly number[];
}

/** The steps a prune point may sit at. */
function allowedSteps(space: PlanSpace): readonly number[] {
  return space.pruneSteps?.filter((s) => s <= space.steps - 2) ?? Array.from({ length: space.steps - 1 }, (_, s) => s);
}

/** The allowed step nearest to s (the earlier one on a tie); s itself when every step is allowed. */
function snap(allowed: readonly number[], s: number): number {
  let best = allowed[0] as number;
  for (const a of allowed) if (Math.abs(a - s) < Math.abs(best - s)) best = a;
  return best;
}

/** Steps at `xs` snapped to the allowed ones, without repeats, in order. */
function snapAll(allowed: readonly number[], xs: readonly number[]): number[] {
  return [...new Set(xs.map((x) => snap(allowed, x)))];
}

/** Step shifts and keep factors the local search tries around a plan. */
const STEP_SHIFTS = [-2, -1, 1, 2]; // in positions of the allowed steps (steps, when every step is allowed)
const KEEP_FACTORS = [0.75, 0.9, 1.12, 1.33];

/** A keep count scaled by f, moved by at least one so that every factor changes the plan. */
function scaleKeep(k: number, f: number): number {
  const scaled = Math.round(k * f);
  return f > 1 ? Math.max(k + 1, scaled) : Math.min(k - 1, scaled);
}

function replaceAt<T>(xs: readonly T[], i: number, v: T): T[] {
  const out = xs.slice();
  out[i] = v;
  return out;
}

/**
 * The plans one move away: shift a prune step, scale a keep count, drop a prune point, or add one (every
 * other step, keeping about twice, or about the geometric mean of, its neighbours' counts). Only valid,
 * distinct plans are returned, in a fixed order (the search is deterministic).
 */
export function neighbours(plan: Plan, space: PlanSpace): Plan[] {
  const out = new Map<string, Plan>();
  const allowed = allowedSteps(space);
  const add = (p: Plan): void => {
    if (isValidPlan(p, space.steps) && p.steps.length <= space.maxStages && p.steps.every((x) => allowed.includes(x))) out.set(formatPlan(p), p);
  };
  const m = plan.steps.length;
  for (let i = 0; i < m; i++) {
    const s = plan.steps[i] as number;
    const k = plan.keeps[i] as number;
    const at = allowed.indexOf(s);
    for (const d of STEP_SHIFTS) {
      const to = allowed[at + d];
      if (at >= 0 && to !== undefined) add({ steps: replaceAt(plan.steps, i, to), keeps: plan.keeps });
    }
    for (const f of KEEP_FACTORS) add({ steps: plan.steps, keeps: replaceAt(plan.keeps, i, scaleKeep(k, f)) });
    add({ steps: plan.steps.filter((_, j) => j !== i), keeps: plan.keeps.filter((_, j) => j !== i) });
  }
  if (m < space.maxStages && allowed.length > 0) {
    const everyOther = Array.from({ length: Math.floor((space.steps - 2) / 2) + 1 }, (_, k) => 2 * k);
    for (const s of snapAll(allowed, everyOther)) {
      if (plan.steps.includes(s)) continue;
      const at = plan.steps.filter((x) => x < s).length;
      const next = at < m ? (plan.keeps[at] as number) : 1;
      const prev = at > 0 ? (plan.keeps[at - 1] as number) : undefined;
      const options = prev === undefined ? [2 * next + 1, 3 * next + 2] : [Math.round(Math.sqrt(prev * next))];
      for (const k of options) {
        add({ steps: [...plan.steps.slice(0, at), s, ...plan.steps.slice(at)], keeps: [...plan.keeps.slice(0, at), k, ...plan.keeps.slice(at)] });
      }
    }
  }
  out.delete(formatPlan(plan));
  return [...out.values()];
}

/** Keep counts the starting plans use (1..64, roughly geometric). */
const SEED_KEEPS = [1, 2, 3, 4, 6, 8, 11, 16, 22, 32, 45, 64];

/**
 * Starting plans: best-of-N, one prune point at every step up to S-2 with each seed keep count, and
 * two-point cascades (an early cheap cut, then a later one). Most do not fit a given budget; realizePlan
 * filters them there.
 */
export function seedPlans(space: PlanSpace): Plan[] {
  const plans: Plan[] = [{ steps: [], keeps: [] }];
  const allowed = allowedSteps(space);
  if (space.maxStages < 1 || allowed.length === 0) return plans;
  const last = space.steps - 2;
  const oneStep = snapAll(allowed, Array.from({ length: Math.floor(last / 2) + 1 }, (_, i) => 2 * i).filter((s) => s <= Math.min(last, 14)));
  for (const s of oneStep) for (const k of SEED_KEEPS) plans.push({ steps: [s], keeps: [k] });
  if (space.maxStages >= 2) {
    const pairs: [number, number][] = [];
    for (const a of snapAll(allowed, [0, 2, 4])) for (const b of snapAll(allowed, [5, 7, 10])) if (a < b && b <= last) pairs.push([a, b]);
    for (const [a, b] of pairs) {
      for (const k2 of [1, 2, 4, 8]) for (const r of [3, 6]) plans.push({ steps: [a, b], keeps: [k2 * r, k2] });
    }
  }
  return plans.filter((p) => isValidPlan(p, space.steps));
}
