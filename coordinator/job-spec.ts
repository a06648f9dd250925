import { candidatesForBudget, parseAccounting, type Accounting } from '../core/engine/accounting.js';
import { compileCostModel, type CostModel } from '../core/engine/cost-model.js';
import { plannedLedger, type Ledger } from '../core/engine/ledger.js';
import { makePolicy, parsePolicyName, type Policy } from '../core/engine/policy.js';
import { compileSchedule, PAPER_SCHEDULE, type Schedule } from '../core/engine/schedule.js';
import { ValidationError } from '../core/errors.js';
import type { SubmitJobRequest } from '../core/generated/ttsnap/v1/SubmitJobRequest.js';
import type { BackendInfo } from '../core/contract/backend-info.js';

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
  readonly label: string;
  /** trace columns to draw candidates from (0 for model backends) */
  readonly pool: number;
  /** the ledger of one prompt without failures */
  readonly plannedPerPrompt: Ledger;
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
  const schedule = points.length > 0 ? compileSchedule(points.map((p) => ({ step: Number(p.step), alpha: Number(p.alpha) })), info.steps, 'schedule') : defaultSchedule(info.steps);
  const policy = makePolicy(policyName, schedule);

  const rewards = (req.rewards ?? []).length > 0 ? [...(req.rewards as string[])] : info.rewards.slice(0, 1);
  limit('rewards', rewards.length, LIMITS.rewards);
  rewards.forEach((r, i) => {
    if (!info.rewards.includes(r)) throw new ValidationError(`rewards[${i}]`, `unknown reward '${r}'`, info.rewards.join(' | '));
    if (rewards.indexOf(r) !== i) throw new ValidationError(`rewards[${i}]`, `'${r}' appears twice`, 'distinct rewards');
  });

  const costIn = req.cost ?? null;
  const cost = compileCostModel(costIn ? { denoise: Number(costIn.denoise ?? 0), verify: Number(costIn.verify ?? 0), steps: info.steps } : { ...info.cost, steps: info.steps }, 'cost');
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
  if (n * nPrompts > LIMITS.totalCandidates) {
    throw new ValidationError('candidates', `${nPrompts} prompts x ${n} candidates`, `at most ${LIMITS.totalCandidates} candidates per job`);
  }
  const topK = Number(req.top_k ?? 0);
  if (!Number.isInteger(topK) || topK > n) throw new ValidationError('top_k', `got ${topK}`, `an integer in [0, ${n}]`);
  const label = req.label ?? '';
  if (label.length > LIMITS.label) throw new ValidationError('label', `${label.length} characters`, `at most ${LIMITS.label}`);

  const deadline = Number(req.deadline_s ?? 0);
  if (!(deadline >= 0 && deadline <= LIMITS.deadlineS)) throw new ValidationError('deadline_s', `got ${deadline}`, `seconds in [0, ${LIMITS.deadlineS}] (0 = none)`);

  const pruneRewards = rewards;
  return {
    prompts: trace ? [...promptIdx] : texts.map((_, i) => i),
    texts: trace ? promptIdx.map(() => '') : [...texts],
    n,
    policy,
    schedule: policy.schedule,
    seed: Number(req.seed ?? 0) >>> 0,
    rewards,
    topK,
    cost,
    accounting,
    images: Boolean(req.images),
    label,
    pool,
    plannedPerPrompt: plannedLedger(n, policy.schedule, cost, accounting, pruneRewards, rewards),
    deadlineMs: deadline * 1000,
  };
}

/** The paper's schedule where it fits the model's steps, else best-of-N. */
function defaultSchedule(steps: number): Schedule {
  return PAPER_SCHEDULE.every((p) => p.step <= steps - 2) ? PAPER_SCHEDULE : [];
}
