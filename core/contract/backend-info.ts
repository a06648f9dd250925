import type { BackendInfo as ProtoInfo, BackendInfo__Output } from '../generated/ttsnap/v1/BackendInfo.js';
import type { SamplingLimits__Output } from '../generated/ttsnap/v1/SamplingLimits.js';

/** One reward to score with; `noiseAware` picks the NARF variant for the candidate's current step. */
export interface RewardSpec {
  readonly name: string;
  readonly noiseAware: boolean;
}

/** What a backend offers; reported to the coordinator through the Capacity RPC. */
export interface BackendInfo {
  /** backend name as in the registry ('trace', 'onnx') */
  readonly backend: string;
  /** sampling steps S (step indices 0..S-1) */
  readonly steps: number;
  /** largest batch one denoise or reward call takes */
  readonly maxBatch: number;
  /** reward names this backend scores with (the first is the default) */
  readonly rewards: readonly string[];
  /** cost of one denoise step and of one reward call, in the model's unit (TFLOPs) */
  readonly cost: { readonly denoise: number; readonly verify: number };
  /** trace backend: prompts and candidate columns in the trace (candidates are drawn from the columns); 0 for model backends */
  readonly tracePrompts: number;
  readonly traceCandidates: number;
  /** true when render() can produce images */
  readonly renders: boolean;
  /** model bundle or trace name, for people */
  readonly model: string;
  /** where the model runs (cpu | cuda | simulated) and a fingerprint of its files: the worker process adds them */
  readonly provider?: string;
  readonly fingerprint?: string;
  /** the sampling settings the backend applies per candidate (absent: none; the trace backend) */
  readonly sampling?: SamplingLimits__Output;
  /** true when the worker publishes previews where an Advance asks (search --contact-sheets): the worker process adds it */
  readonly previews?: boolean;
}


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
    provider: i.provider ?? '',
    fingerprint: i.fingerprint ?? '',
    ...(i.sampling ? { sampling: i.sampling } : {}),
    previews: i.previews ?? false,
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
    ...(p.provider ? { provider: p.provider } : {}),
    ...(p.fingerprint ? { fingerprint: p.fingerprint } : {}),
    ...(p.sampling?.per_candidate ? { sampling: p.sampling } : {}),
    ...(p.previews ? { previews: true } : {}),
  };
}
