import { TOKEN } from '../bus/score-bus.js';
import { ValidationError } from '../errors.js';
import type { BackendInfo__Output } from '../generated/ttsnap/v1/BackendInfo.js';
import type { CandidateRef__Output } from '../generated/ttsnap/v1/CandidateRef.js';
import type { PromptCandidates__Output } from '../generated/ttsnap/v1/PromptCandidates.js';
import type { TakeCandidate__Output } from '../generated/ttsnap/v1/TakeCandidate.js';
import type { TakePrompt__Output } from '../generated/ttsnap/v1/TakePrompt.js';
import type { RewardRef__Output } from '../generated/ttsnap/v1/RewardRef.js';
import type { TakeSpec } from '../contract/candidates.js';
import { groupRefs, promptSpecs } from '../contract/candidate-groups.js';

/**
 * Bounds on what a caller may ask of a worker or advertise to the coordinator. Each is far above any real
 * use and far below what would hurt: a caller with a valid certificate is still not trusted with memory.
 */
export const REQUEST_BOUNDS = {
  /** candidates named by one Take/Advance/Release call */
  refs: 4096,
  /** batch size a worker may advertise */
  maxBatch: 4096,
  /** denoise steps a backend may advertise */
  steps: 10_000,
  /** reward names a backend may advertise, or one Advance may ask for */
  rewards: 16,
  /** trace dimensions a trace backend may advertise */
  traceDim: 10_000_000,
  /** characters of a backend or model name */
  name: 256,
  /** characters of a prompt text on Take */
  textChars: 2_000,
  /** bytes of one imported latent state */
  stateBytes: 64 * 1024 * 1024,
} as const;

const WORKER_ID = /^[A-Za-z0-9_.:[\]-]{1,128}$/;

function quote(s: string): string {
  return `'${s.slice(0, 80)}${s.length > 80 ? '...' : ''}'`;
}

/**
 * The job a client's call names (GetResult, WatchJob, ...): any id SubmitJob could have answered, so only its
 * length is checked here; an unknown one is NOT_FOUND, not bad input.
 */
export function jobField(job: string): string {
  if (job === '' || job.length > 64) throw new ValidationError('job', job === '' ? 'empty' : `${job.length} characters`, 'a job id from SubmitJob');
  return job;
}

/** A job id, which travels as a NATS subject token. */
export function checkJobId(job: string, field = 'job'): string {
  if (!TOKEN.test(job)) throw new ValidationError(field, `got ${quote(job)}`, 'a job id of 1-64 characters [A-Za-z0-9_-]');
  return job;
}

/** A reward name: a NATS subject token, so no dot, no wildcard (`*`, `>`), no space. */
export function checkRewardName(name: string, field: string): string {
  if (!TOKEN.test(name)) throw new ValidationError(field, `got ${quote(name)}`, 'a reward name of 1-64 characters [A-Za-z0-9_-] (no dots or wildcards)');
  return name;
}

export function checkWorkerId(id: string, field = 'worker'): string {
  if (!WORKER_ID.test(id)) throw new ValidationError(field, `got ${quote(id)}`, '1-128 characters [A-Za-z0-9_.:-]');
  return id;
}

function intIn(x: number, field: string, lo: number, hi: number): void {
  if (!Number.isInteger(x) || x < lo || x > hi) throw new ValidationError(field, `got ${x}`, `an integer in [${lo}, ${hi}]`);
}

function finiteNonNegative(x: number, field: string): void {
  if (!Number.isFinite(x) || x < 0) throw new ValidationError(field, `got ${x}`, 'a finite number >= 0');
}

/** What a worker advertises on RegisterWorker (and Capacity): every field bounded, every reward a subject token. */
export function checkBackendInfo(info: BackendInfo__Output | null, field = 'info'): BackendInfo__Output {
  if (!info) throw new ValidationError(field, 'missing', 'the backend info of the worker');
  if (info.backend === '' || info.backend.length > REQUEST_BOUNDS.name) throw new ValidationError(`${field}.backend`, `${info.backend.length} characters`, `1 to ${REQUEST_BOUNDS.name} characters`);
  for (const key of ['model', 'provider', 'fingerprint'] as const) {
    const v = info[key] ?? '';
    if (v.length > REQUEST_BOUNDS.name) throw new ValidationError(`${field}.${key}`, `${v.length} characters`, `at most ${REQUEST_BOUNDS.name}`);
  }
  intIn(info.steps, `${field}.steps`, 2, REQUEST_BOUNDS.steps);
  intIn(info.max_batch, `${field}.max_batch`, 1, REQUEST_BOUNDS.maxBatch);
  if (info.rewards.length === 0 || info.rewards.length > REQUEST_BOUNDS.rewards) throw new ValidationError(`${field}.rewards`, `${info.rewards.length} entries`, `1 to ${REQUEST_BOUNDS.rewards} reward names`);
  info.rewards.forEach((r, i) => checkRewardName(r, `${field}.rewards[${i}]`));
  if (new Set(info.rewards).size !== info.rewards.length) throw new ValidationError(`${field}.rewards`, 'a name appears twice', 'distinct reward names');
  finiteNonNegative(Number(info.cost?.denoise ?? 0), `${field}.cost.denoise`);
  finiteNonNegative(Number(info.cost?.verify ?? 0), `${field}.cost.verify`);
  intIn(info.trace_prompts, `${field}.trace_prompts`, 0, REQUEST_BOUNDS.traceDim);
  intIn(info.trace_candidates, `${field}.trace_candidates`, 0, REQUEST_BOUNDS.traceDim);
  if ((info.trace_prompts === 0) !== (info.trace_candidates === 0)) throw new ValidationError(`${field}.trace_candidates`, 'given without trace_prompts or the other way round', 'both 0 (model backend) or both > 0 (trace backend)');
  return info;
}

/** An Advance's or Release's candidates: the ungrouped list, then the groups (one prompt's packed indices each). */
export function checkRefs(list: readonly CandidateRef__Output[], groups: readonly PromptCandidates__Output[] = [], field = 'candidates'): { prompt: number; candidate: number }[] {
  checkCount(list.length, groups, field, 'groups');
  return [...list.map((r) => ({ prompt: r.prompt, candidate: r.candidate })), ...groupRefs(groups)];
}

/** At most REQUEST_BOUNDS.refs candidates in one call, counting the ungrouped list and the groups together. */
function checkCount(listed: number, groups: readonly { readonly candidates: readonly number[] }[], field: string, groupField: string): void {
  let n = listed;
  for (const g of groups) n += g.candidates.length;
  if (n > REQUEST_BOUNDS.refs) throw new ValidationError(groups.length > 0 ? `${field} + ${groupField}[].candidates` : field, `${n} entries`, `at most ${REQUEST_BOUNDS.refs}`);
}

function checkText(text: string, field: string): void {
  if (text.length > REQUEST_BOUNDS.textChars) throw new ValidationError(field, `${text.length} characters`, `at most ${REQUEST_BOUNDS.textChars}`);
}

export function checkRef(ref: CandidateRef__Output | null, field = 'candidate'): { prompt: number; candidate: number } {
  if (!ref) throw new ValidationError(field, 'missing', 'a candidate reference');
  return { prompt: ref.prompt, candidate: ref.candidate };
}

/** A Take's candidates: the ungrouped list, then the prompts (text and settings once, packed indices and seeds). */
export function checkTakeCandidates(list: readonly TakeCandidate__Output[], prompts: readonly TakePrompt__Output[] = [], field = 'candidates'): TakeSpec[] {
  checkCount(list.length, prompts, field, 'prompts');
  const out: TakeSpec[] = list.map((c, i) => {
    checkText(c.text, `${field}[${i}].text`);
    checkText(c.sampling?.negative_prompt ?? '', `${field}[${i}].sampling.negative_prompt`);
    return { prompt: c.prompt, candidate: c.candidate, seed: c.seed, text: c.text, ...(c.sampling ? { sampling: c.sampling } : {}) };
  });
  prompts.forEach((p, i) => {
    checkText(p.text, `prompts[${i}].text`);
    checkText(p.sampling?.negative_prompt ?? '', `prompts[${i}].sampling.negative_prompt`);
    if (p.seeds.length !== p.candidates.length) throw new ValidationError(`prompts[${i}].seeds`, `${p.seeds.length} seeds for ${p.candidates.length} candidates`, 'one seed per candidate, in the order of candidates');
  });
  return [...out, ...promptSpecs(prompts)];
}

export function checkRewardRefs(list: readonly RewardRef__Output[], field = 'rewards'): { name: string; noiseAware: boolean }[] {
  if (list.length === 0 || list.length > REQUEST_BOUNDS.rewards) throw new ValidationError(field, `${list.length} entries`, `1 to ${REQUEST_BOUNDS.rewards} rewards`);
  return list.map((r, i) => ({ name: checkRewardName(r.name, `${field}[${i}].name`), noiseAware: r.noise_aware }));
}

export function checkStep(step: number, field = 'to_step'): number {
  intIn(step, field, 0, REQUEST_BOUNDS.steps - 1);
  return step;
}

export function checkLatentState(state: Uint8Array, field = 'state'): Uint8Array {
  if (state.byteLength === 0 || state.byteLength > REQUEST_BOUNDS.stateBytes) throw new ValidationError(field, `${state.byteLength} bytes`, `1 to ${REQUEST_BOUNDS.stateBytes} bytes`);
  return state;
}
