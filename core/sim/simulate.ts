import { candidatesForBudget, type Accounting } from '../engine/accounting.js';
import type { CostModel } from '../engine/cost-model.js';
import { relativeIncreasePct } from '../engine/metric.js';
import { makePolicy, type Policy, type PolicyName } from '../engine/policy.js';
import { Rng, sampleWithoutReplacement } from '../engine/rng.js';
import type { Schedule } from '../engine/schedule.js';
import { ValidationError } from '../errors.js';
import type { RewardTrace } from '../trace/reward-trace.js';
import { replayPrompt } from './replay.js';

export interface SimulateOptions {
  readonly budgets: readonly number[];
  readonly draws: number;
  readonly seed: number;
  readonly schedule: Schedule;
  readonly cost: CostModel;
  readonly accounting: Accounting;
  /** [start, end) prompt indices */
  readonly prompts: readonly [number, number];
}

/** The simulate result for one trace (the CLI's --json shape). */
export interface TraceSimulation {
  readonly budgets: number[];
  readonly curves: Record<PolicyName, number[]>;
  readonly relative_increase_pct: { ttsnap: number; ttsp: number };
  readonly candidates: { bon: number[]; ttsnap: number[] };
}

/** Candidates per prompt each budget affords under a policy's schedule; checked against what the trace holds. */
export function candidatesPerBudget(trace: RewardTrace, policy: Policy, opts: SimulateOptions): number[] {
  return opts.budgets.map((b) => {
    const n = candidatesForBudget(b, policy.schedule, opts.cost, opts.accounting, 1, '--budgets');
    if (n > trace.candidates) {
      throw new ValidationError('--budgets', `budget ${b} buys ${n} candidates per prompt under ${policy.name}, but ${trace.name} holds ${trace.candidates}`, `budgets that buy at most ${trace.candidates} candidates`);
    }
    return n;
  });
}

/**
 * Mean over draws of the mean over prompts of the winner's final reward, for one policy and budget.
 * Each draw takes n candidate columns without replacement, the same columns for every prompt (as the
 * authors' simulator does), from a generator seeded by (seed, budget index) so that policies share draws.
 */
export function meanBestReward(trace: RewardTrace, policy: Policy, n: number, opts: SimulateOptions, budgetIndex: number): number {
  const rng = new Rng((opts.seed * 1_000_003 + budgetIndex) >>> 0);
  const scratch = new Float64Array(trace.candidates);
  const [p0, p1] = opts.prompts;
  let total = 0;
  for (let d = 0; d < opts.draws; d++) {
    const cols = sampleWithoutReplacement(trace.candidates, n, rng);
    let sum = 0;
    for (let p = p0; p < p1; p++) sum += replayPrompt(trace, p, cols, policy, scratch);
    total += sum / (p1 - p0);
  }
  return total / opts.draws;
}

export function simulateTrace(trace: RewardTrace, opts: SimulateOptions): TraceSimulation {
  checkPromptRange(trace, opts.prompts);
  const policies = { bon: makePolicy('bon', []), ttsnap: makePolicy('ttsnap', opts.schedule), ttsp: makePolicy('ttsp', opts.schedule) };
  const counts = {
    bon: candidatesPerBudget(trace, policies.bon, opts),
    ttsnap: candidatesPerBudget(trace, policies.ttsnap, opts),
  };
  const curve = (name: PolicyName, ns: number[]): number[] => ns.map((n, bi) => meanBestReward(trace, policies[name], n, opts, bi));
  const curves = { bon: curve('bon', counts.bon), ttsnap: curve('ttsnap', counts.ttsnap), ttsp: curve('ttsp', counts.ttsnap) };
  return {
    budgets: [...opts.budgets],
    curves,
    relative_increase_pct: {
      ttsnap: relativeIncreasePct(opts.budgets, curves.ttsnap, curves.bon),
      ttsp: relativeIncreasePct(opts.budgets, curves.ttsp, curves.bon),
    },
    candidates: counts,
  };
}

export function checkPromptRange(trace: RewardTrace, [start, end]: readonly [number, number], field = '--prompts'): void {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end > start && end <= trace.prompts)) {
    throw new ValidationError(field, `${start}:${end} does not fit ${trace.name}`, `start:end with 0 <= start < end <= ${trace.prompts}`);
  }
}
