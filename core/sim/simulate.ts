import { candidatesForBudget, type Accounting } from '../engine/accounting.js';
import type { CostModel } from '../engine/cost-model.js';
import { relativeIncreasePct } from '../engine/metric.js';
import { makePolicy, type Policy, type PolicyName } from '../engine/policy.js';
import { Rng, sampleWithoutReplacement } from '../engine/rng.js';
import { formatSchedule, type Schedule } from '../engine/schedule.js';
import { ValidationError } from '../errors.js';
import type { RewardTrace } from '../trace/reward-trace.js';
import { Replayer, traceRanks } from './replay.js';

export interface SimulateOptions {
  readonly budgets: readonly number[];
  readonly draws: number;
  readonly seed: number;
  /** the pruning schedule of ttsnap and ttsp */
  readonly schedule: Schedule;
  /** budget -> schedule for budgets that have their own (a tuned schedule file's per_budget) */
  readonly perBudget?: ReadonlyMap<number, Schedule>;
  readonly cost: CostModel;
  readonly accounting: Accounting;
  /** [start, end) prompt indices */
  readonly prompts: readonly [number, number];
  /** called after each budget with the number of budgets done */
  readonly onBudget?: (done: number, total: number) => void;
  /** also return every prompt's mean winner reward per budget (prompt_means), for bootstrap error bars */
  readonly promptMeans?: boolean;
}

/** Each policy's mean winner reward per budget and prompt: `[budget index][prompt - start]`. */
export type PromptMeans = Record<PolicyName, number[][]>;

/** The simulate result for one trace (the CLI's --json shape). */
export interface TraceSimulation {
  readonly budgets: number[];
  readonly curves: Record<PolicyName, number[]>;
  readonly relative_increase_pct: { ttsnap: number; ttsp: number };
  readonly candidates: { bon: number[]; ttsnap: number[] };
  /** only with SimulateOptions.promptMeans */
  readonly prompt_means?: PromptMeans;
}

/** The schedule ttsnap and ttsp run at a budget. */
export function scheduleAt(opts: SimulateOptions, budget: number): Schedule {
  return opts.perBudget?.get(budget) ?? opts.schedule;
}

/** Candidates per prompt a budget affords under a schedule; checked against what the trace holds. */
export function candidatesAt(trace: RewardTrace, policy: PolicyName, schedule: Schedule, budget: number, opts: SimulateOptions): number {
  const n = candidatesForBudget(budget, schedule, opts.cost, opts.accounting, 1, '--budgets');
  if (n > trace.candidates) {
    throw new ValidationError(
      '--budgets',
      `budget ${budget} buys ${n} candidates per prompt under ${policy}, but ${trace.name} holds ${trace.candidates}`,
      `budgets that buy at most ${trace.candidates} candidates`,
    );
  }
  return n;
}

/** Candidates per prompt at every budget of the grid under a policy (its schedule, or the per-budget one). */
export function candidatesPerBudget(trace: RewardTrace, policy: Policy, opts: SimulateOptions): number[] {
  return opts.budgets.map((b) => candidatesAt(trace, policy.name, policy.name === 'bon' ? [] : scheduleAt(opts, b), b, opts));
}

/**
 * Mean over draws of the mean over prompts of the winner's final reward, for each replayer at one budget.
 * Each draw takes n candidate columns without replacement, the same columns for every prompt (as the
 * authors' simulator does), from a generator seeded by (seed, budget index); the replayers share the draws.
 * With `promptMeans` (one zeroed array of prompts per replayer) it also leaves there each prompt's mean over
 * the draws, without changing the returned figures.
 */
export function meanBestRewards(
  replayers: readonly Replayer[],
  candidates: number,
  n: number,
  opts: SimulateOptions,
  budgetIndex: number,
  promptMeans?: readonly Float64Array[],
): number[] {
  const rng = new Rng((opts.seed * 1_000_003 + budgetIndex) >>> 0);
  const [p0, p1] = opts.prompts;
  const totals = replayers.map(() => 0);
  for (let d = 0; d < opts.draws; d++) {
    const cols = sampleWithoutReplacement(candidates, n, rng);
    replayers.forEach((r, i) => {
      const into = promptMeans?.[i];
      let sum: number;
      if (into) {
        // prompt by prompt, summed in sumOverPrompts' order, so the figures do not move by a bit
        sum = 0;
        for (let p = p0; p < p1; p++) {
          const v = r.run(p, cols);
          sum += v;
          into[p - p0] = (into[p - p0] as number) + v;
        }
      } else {
        sum = r.sumOverPrompts(p0, p1, cols);
      }
      totals[i] = (totals[i] as number) + sum / (p1 - p0);
    });
  }
  promptMeans?.forEach((m) => m.forEach((v, p) => (m[p] = v / opts.draws)));
  return totals.map((t) => t / opts.draws);
}

/** meanBestRewards for one policy. */
export function meanBestReward(trace: RewardTrace, policy: Policy, n: number, opts: SimulateOptions, budgetIndex: number): number {
  return meanBestRewards([new Replayer(trace, policy)], trace.candidates, n, opts, budgetIndex)[0] as number;
}

/** Checks the prompt range and that every budget buys at least one and at most all candidates; returns N per budget. */
export function planSimulation(trace: RewardTrace, opts: SimulateOptions): TraceSimulation['candidates'] {
  checkPromptRange(trace, opts.prompts);
  if (!(Number.isInteger(opts.draws) && opts.draws >= 1)) throw new ValidationError('--draws', `got ${opts.draws}`, 'an integer >= 1');
  return {
    bon: opts.budgets.map((b) => candidatesAt(trace, 'bon', [], b, opts)),
    ttsnap: opts.budgets.map((b) => candidatesAt(trace, 'ttsnap', scheduleAt(opts, b), b, opts)),
  };
}

/** Runs best-of-N, TTSnap and TTSp over the budget grid and computes the relative-increase metric. */
export function simulateTrace(trace: RewardTrace, opts: SimulateOptions): TraceSimulation {
  const candidates = planSimulation(trace, opts);
  const ranks = traceRanks(trace);
  const bon = new Replayer(trace, makePolicy('bon', []), ranks);
  // One replayer pair per distinct schedule (a per-budget schedule file may hold several).
  const pairs = new Map<string, [Replayer, Replayer]>();
  const pairFor = (schedule: Schedule): [Replayer, Replayer] => {
    const key = formatSchedule(schedule);
    let pair = pairs.get(key);
    if (!pair) {
      pair = [new Replayer(trace, makePolicy('ttsnap', schedule), ranks), new Replayer(trace, makePolicy('ttsp', schedule), ranks)];
      pairs.set(key, pair);
    }
    return pair;
  };
  const schedules = opts.budgets.map((b) => scheduleAt(opts, b));
  const curves: Record<PolicyName, number[]> = { bon: [], ttsnap: [], ttsp: [] };
  const perPrompt: PromptMeans = { bon: [], ttsnap: [], ttsp: [] };
  const prompts = opts.prompts[1] - opts.prompts[0];
  const zeroed = (k: number): Float64Array[] | undefined => (opts.promptMeans ? Array.from({ length: k }, () => new Float64Array(prompts)) : undefined);
  opts.budgets.forEach((_, bi) => {
    const bonMeans = zeroed(1);
    curves.bon.push(meanBestRewards([bon], trace.candidates, candidates.bon[bi] as number, opts, bi, bonMeans)[0] as number);
    const [snap, sp] = pairFor(schedules[bi] as Schedule);
    // Without a noise-aware trace TTSnap is TTSp: replay once.
    const replayers = trace.hasNarf ? [snap, sp] : [sp];
    const means = zeroed(replayers.length);
    const both = meanBestRewards(replayers, trace.candidates, candidates.ttsnap[bi] as number, opts, bi, means);
    curves.ttsnap.push(both[0] as number);
    curves.ttsp.push(both[replayers.length - 1] as number);
    if (bonMeans && means) {
      perPrompt.bon.push(Array.from(bonMeans[0] as Float64Array));
      perPrompt.ttsnap.push(Array.from(means[0] as Float64Array));
      perPrompt.ttsp.push(Array.from(means[replayers.length - 1] as Float64Array));
    }
    opts.onBudget?.(bi + 1, opts.budgets.length);
  });
  return {
    budgets: [...opts.budgets],
    curves,
    relative_increase_pct: {
      ttsnap: relativeIncreasePct(opts.budgets, curves.ttsnap, curves.bon),
      ttsp: relativeIncreasePct(opts.budgets, curves.ttsp, curves.bon),
    },
    candidates,
    ...(opts.promptMeans ? { prompt_means: perPrompt } : {}),
  };
}

export function checkPromptRange(trace: RewardTrace, [start, end]: readonly [number, number], field = '--prompts'): void {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end > start && end <= trace.prompts)) {
    throw new ValidationError(field, `${start}:${end} does not fit ${trace.name}`, `start:end with 0 <= start < end <= ${trace.prompts}`);
  }
}
