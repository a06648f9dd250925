import type { Accounting } from '../engine/accounting.js';
import type { CostModel } from '../engine/cost-model.js';
import { relativeIncreasePct } from '../engine/metric.js';
import type { Schedule } from '../engine/schedule.js';
import type { ScheduleFileJson } from '../engine/schedule-file.js';
import { BOOTSTRAP_RESAMPLES, bootstrapRelativeIncrease, promptCurves, type Spread } from '../sim/bootstrap.js';
import { checkPromptRange, simulateTrace, type TraceSimulation } from '../sim/simulate.js';
import { ValidationError } from '../errors.js';
import type { RewardTrace } from '../trace/reward-trace.js';
import { Deadline, systemClock, type Clock } from './deadline.js';
import { PlanEvaluator } from './evaluator.js';
import { formatPlan } from './plan.js';
import { searchSchedules, type BudgetChoice, type SearchProgress, type SearchTuning } from './search.js';

export interface TuneOptions {
  readonly budgets: readonly number[];
  readonly cost: CostModel;
  readonly accounting: Accounting;
  /** [start, end) prompts the search may read */
  readonly trainPrompts: readonly [number, number];
  /** [start, end) prompts only the final validation reads; must not overlap the training prompts */
  readonly valPrompts: readonly [number, number];
  /** prune points per schedule at most */
  readonly maxStages: number;
  /** steps a prune point may sit at (default every step): a trace's variant steps from its meta.json */
  readonly pruneSteps?: readonly number[];
  /** wall-clock limit of the whole tune of this trace, validation included (seconds) */
  readonly maxSeconds: number;
  /** draws per budget of the validation (as `simulate --draws`) */
  readonly draws: number;
  /** draws per plan in the search's first refining pass */
  readonly searchDraws: number;
  /** seed of the validation draws (as `simulate --seed`); the search draws from other seeds */
  readonly seed: number;
  /** search passes at most (default: as many as the time allows, up to 8) */
  readonly maxPasses?: number;
  /** search knobs (defaults: SEARCH_TUNING) */
  readonly tuning?: Partial<SearchTuning>;
  readonly clock?: Clock;
  readonly onProgress?: (p: SearchProgress) => void;
}

/** What tuning one trace found, on the training prompts, and what it is worth on the validation prompts. */
export interface TuneResult {
  readonly name: string;
  readonly choices: readonly BudgetChoice[];
  /** the metric of the chosen schedules against best-of-N on the training draws (optimistic: chosen there) */
  readonly train_relative_increase_pct: number | null;
  /** `simulate` of the chosen schedules on the validation prompts: the honest figure (with prompt_means) */
  readonly validation: TraceSimulation;
  /** the validation figure's spread over resampled validation prompts: how much it owes to which prompts they are */
  readonly validation_spread: Spread;
  readonly evaluations: number;
  readonly seconds: { search: number; total: number };
}

/** What `tune` does when a flag is not given (the CLI's defaults; bench:tune-ceiling runs with them too). */
export const TUNE_DEFAULTS = {
  trainPrompts: [0, 70],
  valPrompts: [70, 100],
  maxStages: 4,
  maxSeconds: 60,
  draws: 50,
  searchDraws: 24,
  seed: 0,
} as const satisfies Partial<TuneOptions>;

/** Offset between the validation seed and the search's seeds, so the search never sees the validation draws. */
const SEARCH_SEED_OFFSET = 0x5eed;

/** Least share of --max-seconds kept back for the validation run. */
const VALIDATION_RESERVE = 0.03;
/** Margin on the validation time estimated from the search's speed. */
const VALIDATION_SAFETY = 2;

export function checkTuneRanges(trace: RewardTrace, opts: Pick<TuneOptions, 'trainPrompts' | 'valPrompts'>): void {
  checkPromptRange(trace, opts.trainPrompts, '--prompts-train');
  checkPromptRange(trace, opts.valPrompts, '--prompts-val');
  const [a0, a1] = opts.trainPrompts;
  const [b0, b1] = opts.valPrompts;
  if (a0 < b1 && b0 < a1) {
    throw new ValidationError('--prompts-val', `${b0}:${b1} overlaps --prompts-train ${a0}:${a1}`, 'a range disjoint from --prompts-train (the validation prompts must stay unseen)');
  }
}

/**
 * Tunes per-budget schedules for one trace on the training prompts within maxSeconds, then runs the
 * simulator with them on the validation prompts (which nothing before has read) for the honest figure.
 */
export function tuneTrace(trace: RewardTrace, opts: TuneOptions): TuneResult {
  checkTuneRanges(trace, opts);
  const clock = opts.clock ?? systemClock;
  const started = clock.now();
  const { choices, evaluations } = searchTrace(trace, opts);
  const searchSeconds = (clock.now() - started) / 1000;
  const validation = validateChoices(trace, choices, opts);
  const complete = choices.every((c) => Number.isFinite(c.best.score) && Number.isFinite(c.bon.score));
  return {
    name: trace.name,
    choices,
    train_relative_increase_pct: complete
      ? relativeIncreasePct(opts.budgets, choices.map((c) => c.best.score), choices.map((c) => c.bon.score))
      : null,
    validation,
    validation_spread: validationSpread([validation], opts.seed).each[0] as Spread,
    evaluations,
    seconds: { search: searchSeconds, total: (clock.now() - started) / 1000 },
  };
}

/**
 * The search half of tuneTrace: a plan per budget chosen on opts.trainPrompts, stopping early enough that
 * the validation fits in maxSeconds. It does not check that the two prompt ranges are disjoint: tuneTrace
 * does, and `npm run bench:tune-ceiling` deliberately searches on the validation prompts themselves.
 */
export function searchTrace(trace: RewardTrace, opts: TuneOptions): { choices: BudgetChoice[]; evaluations: number } {
  const clock = opts.clock ?? systemClock;
  const evaluator = new PlanEvaluator(trace, { budgets: opts.budgets, cost: opts.cost, accounting: opts.accounting, prompts: opts.trainPrompts }, clock);
  // The search keeps back what the validation will take at the speed measured so far (its replays: draws x
  // prompts x budgets x best-of-N, TTSnap and TTSp; its own rank tables, base and noise-aware), with room
  // for error, and never less than a small share.
  const valReplays = opts.draws * (opts.valPrompts[1] - opts.valPrompts[0]) * opts.budgets.length * (trace.hasNarf ? 3 : 2);
  const limitMs = opts.maxSeconds * 1000;
  const reserve = (): number =>
    Math.max(VALIDATION_RESERVE * limitMs, VALIDATION_SAFETY * (evaluator.msPerReplay() * valReplays + 2 * evaluator.rankMs));
  const choices = searchSchedules(evaluator, {
    space: { steps: trace.steps, maxStages: opts.maxStages, ...(opts.pruneSteps ? { pruneSteps: opts.pruneSteps } : {}) },
    ctx: { cost: opts.cost, accounting: opts.accounting, candidates: trace.candidates },
    budgets: opts.budgets,
    seed: (opts.seed + SEARCH_SEED_OFFSET) >>> 0,
    draws: opts.searchDraws,
    deadline: Deadline.after(clock, limitMs, reserve),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.maxPasses !== undefined ? { maxPasses: opts.maxPasses } : {}),
    ...(opts.tuning ? { tuning: opts.tuning } : {}),
  });
  return { choices, evaluations: evaluator.evaluations };
}

/** `simulate` of the chosen per-budget schedules on the validation prompts with the validation seed and draws. */
export function validateChoices(trace: RewardTrace, choices: readonly BudgetChoice[], opts: TuneOptions): TraceSimulation {
  return simulateTrace(trace, {
    budgets: opts.budgets,
    draws: opts.draws,
    seed: opts.seed,
    schedule: defaultSchedule(choices),
    perBudget: new Map(choices.map((c) => [c.budget, c.best.realized.schedule])),
    cost: opts.cost,
    accounting: opts.accounting,
    prompts: opts.valPrompts,
    promptMeans: true,
  });
}

/**
 * Bootstrap spread of validation figures over their prompts (TTSnap against best-of-N), each and of their
 * mean, resampling the same prompts in every trace (see bootstrapRelativeIncrease); seeded by the validation
 * seed, so a run repeats.
 */
export function validationSpread(validations: readonly TraceSimulation[], seed: number): { each: Spread[]; mean: Spread } {
  return bootstrapRelativeIncrease(validations.map((v) => promptCurves(v, 'ttsnap')), { resamples: BOOTSTRAP_RESAMPLES, seed });
}

/** The schedule a budget outside the tuned grid runs: the one chosen at the middle budget. */
export function defaultSchedule(choices: readonly BudgetChoice[]): Schedule {
  return choices[Math.floor(choices.length / 2)]?.best.realized.schedule ?? [];
}

/** The schedule file `simulate --schedule-file` reads: one schedule per tuned budget, and how it was found. */
export function toScheduleFile(result: TuneResult, opts: TuneOptions, steps: number): ScheduleFileJson {
  return {
    format: 'ttsnap-schedule/1',
    steps,
    schedule: [...defaultSchedule(result.choices)],
    per_budget: result.choices.map((c) => ({ budget: c.budget, schedule: [...c.best.realized.schedule] })),
    tuned: {
      trace: result.name,
      accounting: opts.accounting,
      cost: { denoise: opts.cost.denoise, verify: opts.cost.verify },
      prompts_train: [...opts.trainPrompts],
      prompts_val: [...opts.valPrompts],
      plans: result.choices.map((c) => ({ budget: c.budget, n: c.best.realized.n, plan: formatPlan(c.best.realized.plan) })),
      train_relative_increase_pct: result.train_relative_increase_pct,
      validation_relative_increase_pct: result.validation.relative_increase_pct.ttsnap,
      max_seconds: opts.maxSeconds,
    },
  };
}
