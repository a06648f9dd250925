import { candidatesForBudget, parseAccounting, type Accounting } from '../core/engine/accounting.js';
import { compileCostModel, type CostModel } from '../core/engine/cost-model.js';
import { mergeLedgers, plannedLedger, type Ledger } from '../core/engine/ledger.js';
import { makePolicy, parsePolicyName, type Policy } from '../core/engine/policy.js';
import { compileSchedule, PAPER_SCHEDULE, type Schedule } from '../core/engine/schedule.js';
import { ValidationError } from '../core/errors.js';
import type { PromptSettings } from '../core/generated/ttsnap/v1/PromptSettings.js';
import type { SubmitJobRequest } from '../core/generated/ttsnap/v1/SubmitJobRequest.js';
import type { BackendInfo } from '../core/contract/backend-info.js';
import { checkSampling, denoiseCostAt, mergeSampling, resolvedSampling, stepsFor, type Sampling } from './sampling-spec.js';

/** Request size limits: bounded work per job, checked before anything is queued. */
export const LIMITS = {
  // 100k prompts travel in chunks (SubmitJobUpload); one SubmitJob message stays under the 8 MiB cap
  prompts: 100_000,
  textChars: 2_000,
  candidates: 100_000,
  totalCandidates: 2_000_000,
  label: 200,
  rewards: 8,
  schedulePoints: 64,
  /** 30 days */
  deadlineS: 2_592_000,
} as const;

/** A validated job: everything the coordinator needs, derived once at submission. */
export interface JobSpec {
  /** trace prompt indices, or 0..texts-1 for text prompts */
  readonly prompts: readonly number[];
  readonly texts: readonly string[];
  /** candidates per prompt (N) */
  readonly n: number;
  readonly policy: Policy;
  readonly schedule: Schedule;
  readonly seed: number;
  readonly rewards: readonly string[];
  readonly topK: number;
  readonly cost: CostModel;
  readonly accounting: Accounting;
  readonly images: boolean;
  /** search --contact-sheets: the workers publish a thumbnail of each scored candidate (kept per prompt for GetPromptPreviews) */
  readonly previews: boolean;
  readonly label: string;
  /** trace columns to draw candidates from (0 for model backends) */
  readonly pool: number;
  /** the ledger of the whole job without failures (every prompt with its own N) */
  readonly planned: Ledger;
  /** per prompt position: its N and its seed (the job's, unless its settings override them) */
  readonly promptN: readonly number[];
  readonly promptSeed: readonly number[];
  /** per prompt position: its overrides as given, recorded in its result (null when none) */
  readonly promptSettings: readonly (PromptSettings | null)[];
  /** the job's sampling settings as the workers run them (unset fields filled from what they report) */
  readonly sampling: Sampling | null;
  /** per prompt position: the job's and the prompt's settings merged, as its candidates carry them (null = none) */
  readonly promptSampling: readonly (Sampling | null)[];
  /** per prompt position: its candidates' sampling steps (the workers' unless its settings change them) */
  readonly promptSteps: readonly number[];
  /** each prompt's cost of a denoise step (its guidance may run another number of passes than the job's) */
  readonly promptDenoise: readonly number[];
  /** some prompt's candidates carry sampling settings that model workers must apply (never on the trace backend, which keeps them as labels) */
  readonly setsSampling: boolean;
  /** ms after submission at which a job still running is cancelled (0 = no deadline) */
  readonly deadlineMs: number;
}

function limit(field: string, got: number, max: number): void {
  if (got > max) throw new ValidationError(field, `${got} entries`, `at most ${max}`);
}

/**
 * Checks a SubmitJob request against the workers' backend and derives N. Throws ValidationError naming the
 * request field (gRPC INVALID_ARGUMENT); pure, so a bad request touches no state.
 */
export function compileJobSpec(req: SubmitJobRequest, info: BackendInfo): JobSpec {
  const promptIdx = req.prompts ?? [];
  const texts = req.texts ?? [];
  limit('prompts', promptIdx.length, LIMITS.prompts);
  limit('texts', texts.length, LIMITS.prompts);
  if (promptIdx.length === 0 && texts.length === 0) throw new ValidationError('prompts', 'empty', 'at least one prompt (trace indices in prompts, or texts)');
  if (promptIdx.length > 0 && texts.length > 0) throw new ValidationError('texts', 'given with prompts', 'either prompts (trace indices) or texts, not both');
  const trace = info.tracePrompts > 0;
  if (trace && texts.length > 0) throw new ValidationError('texts', `the ${info.backend} backend replays a trace`, 'prompts as trace indices');
  if (!trace && promptIdx.length > 0) throw new ValidationError('prompts', `the ${info.backend} backend takes text prompts`, 'texts');
  const seen = new Set<number>();
  promptIdx.forEach((p, i) => {
    if (!Number.isInteger(p) || p < 0 || p >= info.tracePrompts) throw new ValidationError(`prompts[${i}]`, `got ${p}`, `a trace prompt index in [0, ${info.tracePrompts - 1}]`);
    if (seen.has(p)) throw new ValidationError(`prompts[${i}]`, `${p} appears twice`, 'distinct prompt indices');
    seen.add(p);
  });
  texts.forEach((t, i) => {
    if (t.trim() === '' || t.length > LIMITS.textChars) throw new ValidationError(`texts[${i}]`, `${t.length} characters`, `1 to ${LIMITS.textChars} characters`);
  });

  const policyName = parsePolicyName(req.policy || 'ttsnap', 'policy');
  const points = req.schedule ?? [];
  limit('schedule', points.length, LIMITS.schedulePoints);
  const jobSampling = checkSampling(req.sampling, 'sampling', info);
  // the job's steps, where its workers take them, are what its schedule and costs are for
  const jobSteps = stepsFor(jobSampling, 'sampling', [], info);
  const schedule = points.length > 0 ? compileSchedule(points.map((p) => ({ step: Number(p.step), alpha: Number(p.alpha) })), jobSteps, 'schedule') : defaultSchedule(jobSteps);
  const policy = makePolicy(policyName, schedule);

  const rewards = (req.rewards ?? []).length > 0 ? [...(req.rewards as string[])] : info.rewards.slice(0, 1);
  limit('rewards', rewards.length, LIMITS.rewards);
  rewards.forEach((r, i) => {
    if (!info.rewards.includes(r)) throw new ValidationError(`rewards[${i}]`, `unknown reward '${r}'`, info.rewards.join(' | '));
    if (rewards.indexOf(r) !== i) throw new ValidationError(`rewards[${i}]`, `'${r}' appears twice`, 'distinct rewards');
  });

  const costIn = req.cost ?? null;
  // a step's cost at the job's or a prompt's guidance (a cost given with the job is its word for every prompt)
  const denoiseOf = (s: Sampling | null): number => (costIn ? Number(costIn.denoise ?? 0) : denoiseCostAt(info, s?.guidance ?? 0));
  const cost = compileCostModel({ denoise: denoiseOf(jobSampling), verify: costIn ? Number(costIn.verify ?? 0) : info.cost.verify, steps: jobSteps }, 'cost');
  const accounting = parseAccounting(req.accounting || 'exact', 'accounting');

  const budget = Number(req.budget ?? 0);
  const wanted = Number(req.candidates ?? 0);
  if (budget > 0 && wanted > 0) throw new ValidationError('candidates', 'given with budget', 'either budget or candidates');
  if (!(budget > 0) && !(wanted > 0)) {
    if (!Number.isFinite(budget) || budget < 0) throw new ValidationError('budget', `got ${budget}`, 'a finite number > 0');
    throw new ValidationError('budget', 'neither budget nor candidates given', 'budget > 0 (cost units) or candidates >= 1');
  }
  const pool = trace ? info.traceCandidates : 0;
  const maxN = trace ? Math.min(pool, LIMITS.candidates) : LIMITS.candidates;
  let n: number;
  if (wanted > 0) {
    if (!Number.isInteger(wanted) || wanted > maxN) throw new ValidationError('candidates', `got ${wanted}`, `an integer in [1, ${maxN}]`);
    n = wanted;
  } else {
    n = candidatesForBudget(budget, policy.schedule, cost, accounting, rewards.length, 'budget');
    if (n > maxN) throw new ValidationError('budget', `budget ${budget} buys ${n} candidates per prompt`, `a budget that buys at most ${maxN}`);
  }
  const nPrompts = promptIdx.length || texts.length;
  const perPrompt = promptOverrides(req, nPrompts, info, jobSampling, policy.schedule, denoiseOf, (field, got, steps, denoise) => {
    if (got.candidates > 0 && got.budget > 0) throw new ValidationError(`${field}.candidates`, 'given with budget', 'either candidates or budget');
    if (got.candidates > 0) {
      if (!Number.isInteger(got.candidates) || got.candidates > maxN) throw new ValidationError(`${field}.candidates`, `got ${got.candidates}`, `an integer in [1, ${maxN}]`);
      return got.candidates;
    }
    if (got.budget > 0) {
      const own = candidatesForBudget(got.budget, policy.schedule, { ...cost, steps, denoise }, accounting, rewards.length, `${field}.budget`);
      if (own > maxN) throw new ValidationError(`${field}.budget`, `budget ${got.budget} buys ${own} candidates`, `a budget that buys at most ${maxN}`);
      return own;
    }
    return n;
  });
  const total = perPrompt.n.reduce((a, b) => a + b, 0);
  if (total > LIMITS.totalCandidates) throw new ValidationError('candidates', `${total} candidates in all`, `at most ${LIMITS.totalCandidates} candidates per job`);
  const topK = Number(req.top_k ?? 0);
  const smallestN = perPrompt.n.reduce((a, b) => Math.min(a, b), n);
  if (!Number.isInteger(topK) || topK > smallestN) throw new ValidationError('top_k', `got ${topK}`, `an integer in [0, ${smallestN}] (the smallest N of a prompt)`);
  const label = req.label ?? '';
  if (label.length > LIMITS.label) throw new ValidationError('label', `${label.length} characters`, `at most ${LIMITS.label}`);

  const deadline = Number(req.deadline_s ?? 0);
  if (!(deadline >= 0 && deadline <= LIMITS.deadlineS)) throw new ValidationError('deadline_s', `got ${deadline}`, `seconds in [0, ${LIMITS.deadlineS}] (0 = none)`);

  const pruneRewards = rewards;
  const seed = Number(req.seed ?? 0) >>> 0;
  const plans = new Map<string, Ledger>();
  const planOf = (k: number, steps: number, denoise: number): Ledger => {
    const id = `${k}/${steps}/${denoise}`;
    return plans.get(id) ?? (plans.set(id, plannedLedger(k, policy.schedule, { ...cost, steps, denoise }, accounting, pruneRewards, rewards)).get(id) as Ledger);
  };
  return {
    prompts: trace ? [...promptIdx] : texts.map((_, i) => i),
    texts: trace ? promptIdx.map(() => '') : [...texts],
    n,
    policy,
    schedule: policy.schedule,
    seed,
    rewards,
    topK,
    cost,
    accounting,
    images: Boolean(req.images),
    previews: Boolean(req.previews),
    label,
    pool,
    planned: mergeLedgers(perPrompt.n.map((k, i) => planOf(k, perPrompt.steps[i] as number, perPrompt.denoise[i] as number))),
    promptN: perPrompt.n,
    promptSeed: perPrompt.settings.map((p) => (p?.has_seed ? Number(p.seed) >>> 0 : seed)),
    promptSettings: perPrompt.settings,
    sampling: resolvedSampling(jobSampling, info),
    promptSampling: perPrompt.sampling,
    promptSteps: perPrompt.steps,
    promptDenoise: perPrompt.denoise,
    setsSampling: !trace && perPrompt.sampling.some((x) => x !== null),
    deadlineMs: deadline * 1000,
  };
}

/** An override's numbers as given (proto defaults are 0). */
interface Overrides {
  readonly candidates: number;
  readonly budget: number;
}

/** Each prompt's overrides: N, settings as given, sampling merged over the job's, and its steps. */
interface PerPrompt {
  readonly n: number[];
  readonly settings: (PromptSettings | null)[];
  readonly sampling: (Sampling | null)[];
  readonly steps: number[];
  readonly denoise: number[];
}

/**
 * Per-prompt settings (JSONL overrides): aligned with the prompts, each prompt's N from its own candidates or
 * budget (else the job's, under its own steps), its sampling settings checked as the job's are and merged over
 * them; the schedule's prune steps checked against each prompt's steps.
 */
function promptOverrides(req: SubmitJobRequest, count: number, info: BackendInfo, job: Sampling | null, schedule: Schedule, denoiseOf: (s: Sampling | null) => number, nOf: (field: string, got: Overrides, steps: number, denoise: number) => number): PerPrompt {
  const given = req.prompt_settings ?? [];
  if (given.length > 0 && given.length !== count) throw new ValidationError('prompt_settings', `${given.length} entries for ${count} prompts`, 'none, or one per prompt in the same order');
  const jobSteps = stepsFor(job, 'sampling', schedule, info);
  const jobDenoise = denoiseOf(job);
  const none = nOf('candidates', { candidates: 0, budget: 0 }, jobSteps, jobDenoise);
  if (given.length === 0) return { n: new Array<number>(count).fill(none), settings: new Array<PromptSettings | null>(count).fill(null), sampling: new Array<Sampling | null>(count).fill(job), steps: new Array<number>(count).fill(jobSteps), denoise: new Array<number>(count).fill(jobDenoise) };
  const out: PerPrompt = { n: [], settings: [], sampling: [], steps: [], denoise: [] };
  given.forEach((p, i) => {
    const field = `prompt_settings[${i}]`;
    const got = { candidates: Number(p.candidates ?? 0), budget: Number(p.budget ?? 0) };
    if (!Number.isFinite(got.budget) || got.budget < 0) throw new ValidationError(`${field}.budget`, `got ${got.budget}`, 'a finite number >= 0 (0 = the job\'s)');
    const own = checkSampling(p.sampling, `${field}.sampling`, info);
    const merged = mergeSampling(job, own);
    const steps = own?.steps ? stepsFor(merged, `${field}.sampling`, schedule, info) : jobSteps;
    const denoise = denoiseOf(merged);
    out.n.push(got.candidates > 0 || got.budget > 0 ? nOf(field, got, steps, denoise) : none);
    out.sampling.push(merged);
    out.steps.push(steps);
    out.denoise.push(denoise);
    const seed = Number(p.seed ?? 0);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new ValidationError(`${field}.seed`, `got ${seed}`, 'an integer in [0, 4294967295]');
    out.settings.push({ ...p, seed, candidates: got.candidates, budget: got.budget });
  });
  return out;
}

/** The paper's schedule where it fits the model's steps, else best-of-N. */
function defaultSchedule(steps: number): Schedule {
  return PAPER_SCHEDULE.every((p) => p.step <= steps - 2) ? PAPER_SCHEDULE : [];
}
