import { parseAccounting } from '../../../core/engine/accounting.js';
import { plannedLedger, type Ledger } from '../../../core/engine/ledger.js';
import { makePolicy, parsePolicyName } from '../../../core/engine/policy.js';
import type { SubmitJobRequest } from '../../../core/generated/ttsnap/v1/SubmitJobRequest.js';

/** The part of a backend's description a plan needs. */
export interface PlanBackend {
  readonly steps: number;
  readonly rewards: readonly string[];
  readonly cost: { readonly denoise: number; readonly verify: number };
}

/**
 * The engine's planned ledger of one prompt of a submitted request with `n` candidates, as the coordinator
 * plans it (the policy's schedule, the requested rewards or the backend's first): what progress costs stages
 * by. Null where the backend is not known here (a remote coordinator) or the request does not say enough.
 */
export function planPerPrompt(req: SubmitJobRequest, backend: PlanBackend | null, n: number): Ledger | null {
  if (!backend || !(n > 0)) return null;
  try {
    const schedule = (req.schedule ?? []).map((p) => ({ step: Number(p.step ?? 0), alpha: Number(p.alpha ?? 0) }));
    const policy = makePolicy(parsePolicyName(req.policy || 'ttsnap'), schedule);
    const rewards = req.rewards?.length ? [...req.rewards] : backend.rewards.slice(0, 1);
    return plannedLedger(n, policy.schedule, { ...backend.cost, steps: backend.steps }, parseAccounting(req.accounting || 'exact'), rewards);
  } catch {
    return null; // progress never fails a search: the coordinator has already accepted the request
  }
}
