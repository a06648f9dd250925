import type { BackendInfo, RewardSpec } from '../core/contract/backend-info.js';
import type { CandidateKey } from '../core/contract/candidates.js';
import type { SamplingSettings__Output } from '../core/generated/ttsnap/v1/SamplingSettings.js';

/**
 * The worker backend: what owns the accelerator and the candidates' latent state. The worker runtime
 * (worker/runtime.ts) batches work across prompts and jobs and calls these operations; a backend never
 * sees the bus, gRPC or the coordinator. Implementations: `trace` (worker/backends/trace.ts, replays
 * reward traces on a simulated accelerator) and `onnx` (worker/onnx/, the real diffusion pipeline).
 *
 * Contract for every operation:
 * - batches hold at most `info.maxBatch` candidates; the runtime never exceeds it;
 * - advance, score, exportState, importState and render are serialised by the runtime (one in flight per
 *   backend); create, release, stepOf and liveKeys are cheap bookkeeping and may run while one of those is in
 *   flight (a new candidate's noise is drawn lazily or in create, never touching candidates being advanced);
 *   a backend with `overlapsScoring` also takes one score call beside them (its own candidates only);
 * - `signal` aborts the call (throw the signal's reason); state of candidates not yet touched stays valid;
 * - a candidate's state depends only on (prompt, candidate index, seed) and the steps it went through, never
 *   on the batch it was in: recomputation from seed on another worker gives the same scores (DESIGN §6).
 */

/** What a candidate is created from. */
export interface CandidateSpec {
  readonly key: CandidateKey;
  /** prompt index within the backend's prompt set (trace row) or within the job */
  readonly prompt: number;
  /** prompt text for model backends; empty for the trace backend */
  readonly text: string;
  /** candidate index within the prompt (trace column for the trace backend) */
  readonly candidate: number;
  /** seed of the candidate's initial noise (uint32) */
  readonly seed: number;
  /** its prompt's sampling settings (absent, 0 or '' = the backend's own; the trace backend ignores them) */
  readonly sampling?: SamplingSettings__Output | null;
}

/** Advance one candidate from its current step to `toStep` (step indices are 0-based; a new candidate is at -1). */
export interface AdvanceItem {
  readonly key: CandidateKey;
  readonly toStep: number;
}

export interface WorkerBackend {
  readonly info: BackendInfo;
  /** where the model runs ('cpu' | 'cuda', the ONNX execution provider); absent for a simulated accelerator */
  readonly provider?: string;
  /**
   * true when a score call may run beside an advance (decode and rewards on their own thread, reading a copy of
   * the scored candidates' latents taken when the call starts): the runtime then keeps one score call in flight
   * outside the serialised calls, on candidates no other call touches, so scoring overlaps denoising
   */
  readonly overlapsScoring?: boolean;
  /** Creates candidates at step -1 (initial noise drawn from their seeds). Re-creating a live key replaces it. */
  create(specs: readonly CandidateSpec[], signal?: AbortSignal): Promise<void>;
  /**
   * Advances each item to its toStep (> its current step). The runtime asks for one step at a time and may
   * mix candidates of different prompts and steps in one batch; a model that needs one timestep per call may
   * split the batch by current step.
   */
  advance(items: readonly AdvanceItem[], signal?: AbortSignal): Promise<void>;
  /**
   * Scores candidates at their current step: one Float64Array per reward, aligned with `keys`. Noise-aware
   * rewards score the Tweedie estimate at prune points; the base reward scores the clean image at S-1.
   */
  score(keys: readonly CandidateKey[], rewards: readonly RewardSpec[], signal?: AbortSignal): Promise<Float64Array[]>;
  /** Sampling steps of a live candidate when they are its own (per-candidate settings); absent = info.steps. */
  stepCountOf?(key: CandidateKey): number | undefined;
  /** Current step of a live candidate, or undefined when this backend does not hold it. */
  stepOf(key: CandidateKey): number | undefined;
  /** Keys of every candidate this backend holds. */
  liveKeys(): readonly CandidateKey[];
  /** Serialises a candidate's state (latents, step, spec) so that importState on another worker resumes it. */
  exportState(key: CandidateKey): Promise<Uint8Array>;
  /** Resumes a candidate exported by a backend of the same kind and model; returns its step. */
  importState(key: CandidateKey, state: Uint8Array): Promise<number>;
  /** Drops candidates' state; unknown keys are ignored. */
  release(keys: readonly CandidateKey[]): void;
  /** PNG of the candidate's Tweedie estimate (or final image at S-1); only when info.renders. */
  render?(key: CandidateKey, signal?: AbortSignal): Promise<Uint8Array>;
  /** Frees the accelerator; idempotent. */
  close(): Promise<void>;
}

/**
 * Backend options as the CLI parsed them (flag names without dashes, camelCase, raw strings). Each factory
 * compiles what it needs and throws ValidationError naming the flag.
 */
export type BackendOptions = Readonly<Record<string, string | boolean | undefined>>;

/**
 * Receives the decoded image each reward call scored (the Tweedie estimate at a prune point, the final image
 * at the last step), for contact sheets; backends that decode images feed it, the others ignore it.
 */
export interface PreviewSink {
  /** image: [3, H, W] in [-1, 1] (a copy the sink may keep); scores: what each reward said of it, by name */
  add(key: CandidateKey, step: number, image: Float32Array, height: number, width: number, scores: Readonly<Record<string, number>>): void;
  /** false when the candidate's image is not wanted (absent: every one is): a score call none of whose candidates is wanted returns no images */
  wants?(key: CandidateKey): boolean;
}

/** What a backend is given besides its string options: objects of the process that built it. */
export interface BackendHooks {
  readonly previews?: PreviewSink;
  /** the backend's progress lines (model loading, execution-provider fallback); default stderr */
  readonly log?: (line: string) => void;
}

/** Builds a backend from options; the registry (worker/backends/registry.ts) maps names to these. */
export type BackendFactory = (opts: BackendOptions, hooks?: BackendHooks) => Promise<WorkerBackend>;
