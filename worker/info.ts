import type { BackendInfo as ProtoInfo, BackendInfo__Output } from '../core/generated/ttsnap/v1/BackendInfo.js';
import type { BackendInfo } from './backend.js';

/** Backend info on the wire (snake_case proto) and back. */
export function infoToProto(i: BackendInfo): ProtoInfo {
  return {
    backend: i.backend,
    steps: i.steps,
    max_batch: i.maxBatch,
    rewards: [...i.rewards],
    cost: { denoise: i.cost.denoise, verify: i.cost.verify },
    trace_prompts: i.tracePrompts,
    trace_candidates: i.traceCandidates,
    renders: i.renders,
    model: i.model,
  };
}

export function infoFromProto(p: BackendInfo__Output | null): BackendInfo | null {
  if (!p || !p.backend || p.steps < 2 || p.max_batch < 1) return null;
  return {
    backend: p.backend,
    steps: p.steps,
    maxBatch: p.max_batch,
    rewards: [...p.rewards],
    cost: { denoise: Number(p.cost?.denoise ?? 0), verify: Number(p.cost?.verify ?? 0) },
    tracePrompts: p.trace_prompts,
    traceCandidates: p.trace_candidates,
    renders: p.renders,
    model: p.model,
  };
}
