import type { BackendInfo } from '../../core/contract/backend-info.js';
import type { TakeSpec } from '../../core/contract/candidates.js';
import { checkCollectPlan, type CollectPlan, type CollectSource } from '../../core/contract/collect.js';
import { ValidationError } from '../../core/errors.js';
import type { CollectScoresRequest__Output } from '../../core/generated/ttsnap/v1/CollectScoresRequest.js';
import { checkJobId, checkTakeCandidates } from '../../core/security/requests.js';

/** A CollectScores request: at most one batch of candidates (the backend's max batch), a plan the backend can score. */
export function checkCollectScores(req: CollectScoresRequest__Output, info: BackendInfo, source: CollectSource): { job: string; specs: TakeSpec[]; plan: CollectPlan; fingerprint: string } {
  const specs = checkTakeCandidates(req.candidates);
  if (specs.length === 0 || specs.length > info.maxBatch) throw new ValidationError('candidates', `${specs.length} entries`, `1 to ${info.maxBatch} (the worker's max batch)`);
  return { job: checkJobId(req.job), specs, plan: checkCollectPlan(req.rewards, req.variant_steps, info, source, req.save_tweedie), fingerprint: req.fingerprint };
}
