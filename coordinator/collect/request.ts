import { checkCollectPlan, CollectSourceMismatchError, type CollectPlan, type WorkerCollectSource } from '../../core/contract/collect.js';
import type { TakeSpec } from '../../core/contract/candidates.js';
import { ValidationError } from '../../core/errors.js';
import type { CollectRequest__Output } from '../../core/generated/ttsnap/v1/CollectRequest.js';
import { MAX_COORDINATOR_MESSAGE } from '../../core/grpc/load.js';
import { candidateSeed, drawCandidates } from '../candidates.js';
import { LIMITS } from '../job-spec.js';

/** A checked Collect request. */
export interface CollectJob {
  /** each prompt's index in a search job (trace row for the trace backend) and text */
  readonly prompts: readonly { readonly id: number; readonly text: string }[];
  readonly candidates: number;
  readonly seed: number;
  readonly plan: CollectPlan;
  readonly fingerprint: string;
  readonly steps: number;
  /** trace columns candidates are drawn from (0 for model backends) */
  readonly pool: number;
}

/**
 * Checks a Collect request against the workers' source, as compileJobSpec checks a search (INVALID_ARGUMENT naming
 * the field; a fingerprint that is not the workers' is FAILED_PRECONDITION). Pure.
 */
export function compileCollectRequest(req: CollectRequest__Output, source: WorkerCollectSource): CollectJob {
  const { info } = source;
  const ids = req.prompts;
  const trace = info.tracePrompts > 0;
  if (ids.length === 0 || ids.length > LIMITS.prompts) throw new ValidationError('prompts', `${ids.length} entries`, `1 to ${LIMITS.prompts}`);
  if (trace && req.texts.length > 0) throw new ValidationError('texts', `the ${info.backend} backend replays a trace`, 'none (prompts are trace rows)');
  if (!trace && req.texts.length !== ids.length) throw new ValidationError('texts', `${req.texts.length} entries for ${ids.length} prompts`, 'one text per prompt');
  const seen = new Set<number>();
  ids.forEach((p, i) => {
    const max = trace ? info.tracePrompts - 1 : LIMITS.prompts * 1000;
    if (!Number.isInteger(p) || p > max) throw new ValidationError(`prompts[${i}]`, `got ${p}`, `a prompt index in [0, ${max}]`);
    if (seen.has(p)) throw new ValidationError(`prompts[${i}]`, `${p} appears twice`, 'distinct prompt indices');
    seen.add(p);
  });
  req.texts.forEach((t, i) => {
    if (t.trim() === '' || t.length > LIMITS.textChars) throw new ValidationError(`texts[${i}]`, `${t.length} characters`, `1 to ${LIMITS.textChars} characters`);
  });
  const pool = trace ? info.traceCandidates : 0;
  const maxN = trace ? Math.min(pool, LIMITS.candidates) : LIMITS.candidates;
  const n = req.candidates;
  if (!Number.isInteger(n) || n < 1 || n > maxN) throw new ValidationError('candidates', `got ${n}`, `an integer in [1, ${maxN}]`);
  if (n * ids.length > LIMITS.totalCandidates) throw new ValidationError('candidates', `${ids.length} prompts x ${n} candidates`, `at most ${LIMITS.totalCandidates} candidates per collection`);
  const plan = checkCollectPlan(req.rewards, req.variant_steps, info, source, req.save_tweedie);
  // one prompt's values travel in one message
  const bytes = plan.rewards.length * 2 * n * info.steps * 4;
  if (bytes > MAX_COORDINATOR_MESSAGE * 0.9) {
    throw new ValidationError('candidates', `${n} candidates x ${info.steps} steps x ${plan.rewards.length} rewards need ${bytes} bytes per prompt`, `at most ${Math.floor(MAX_COORDINATOR_MESSAGE * 0.9)} bytes (fewer candidates or rewards)`);
  }
  if (req.fingerprint !== source.fingerprint) throw new CollectSourceMismatchError('the workers', req.fingerprint, source.fingerprint);
  return {
    prompts: ids.map((id, i) => ({ id, text: req.texts[i] ?? '' })),
    candidates: n,
    seed: req.seed >>> 0,
    plan,
    fingerprint: source.fingerprint,
    steps: info.steps,
    pool,
  };
}

/** A prompt's candidates as `search --seed` draws them (coordinator/candidates.ts), as workers take them. */
export function promptCandidates(pool: number, n: number, seed: number, prompt: number, text: string): TakeSpec[] {
  return Array.from(drawCandidates(pool, n, seed, prompt), (candidate) => ({ prompt, candidate, seed: candidateSeed(seed, prompt, candidate), text }));
}
