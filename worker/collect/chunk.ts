import type { RewardSpec } from '../../core/contract/backend-info.js';
import type { CandidateKey } from '../../core/contract/candidates.js';
import { valueOffset, type CollectPlan } from '../../core/contract/collect.js';
import type { CandidateSpec, WorkerBackend } from '../backend.js';

/** Runs one backend call at a time: the worker runtime's mutex (search jobs share the backend); direct when embedded. */
export type Serialise = <T>(call: () => Promise<T>) => Promise<T>;

const direct: Serialise = (call) => call();

export interface ChunkOptions {
  readonly signal?: AbortSignal;
  readonly serialise?: Serialise;
  /** called after each step's scores, with the batch still at that step (the embedded collect saves Tweedie images here) */
  readonly afterStep?: (step: number, keys: readonly CandidateKey[]) => Promise<void>;
}

/**
 * The heart of `ttsnap collect`: creates one batch of candidates, denoises it step by step to the end and scores
 * it at every step with one score call holding every reward's base model and the variants that step has (so the
 * backend decodes each Tweedie estimate once). Returns [reward][base, noise-aware][candidate][step]; the batch is
 * released whatever happens. Embedded and remote workers both run this, so they write the same values.
 */
export async function collectChunk(backend: WorkerBackend, specs: readonly CandidateSpec[], plan: CollectPlan, o: ChunkOptions = {}): Promise<Float32Array> {
  const S = backend.info.steps;
  const { rewards } = plan;
  const R = rewards.length;
  const n = specs.length;
  const serialise = o.serialise ?? direct;
  const values = new Float32Array(R * 2 * n * S);
  const keys = specs.map((c) => c.key);
  await backend.create(specs, o.signal);
  try {
    for (let s = 0; s < S; s++) {
      await serialise(() => backend.advance(keys.map((key) => ({ key, toStep: s })), o.signal));
      const narfAt = s < S - 1 ? rewards.filter((r) => plan.variantSteps[r]?.includes(s)) : [];
      const asked: RewardSpec[] = [...rewards.map((name) => ({ name, noiseAware: false })), ...narfAt.map((name) => ({ name, noiseAware: true }))];
      const scores = await serialise(() => backend.score(keys, asked, o.signal));
      rewards.forEach((r, ri) => {
        const base = scores[ri] as Float64Array;
        const k = narfAt.indexOf(r);
        const narf = k >= 0 ? (scores[R + k] as Float64Array) : base;
        for (let j = 0; j < n; j++) {
          values[valueOffset(ri, 0, j, n, S) + s] = base[j] as number;
          values[valueOffset(ri, 1, j, n, S) + s] = narf[j] as number;
        }
      });
      await o.afterStep?.(s, keys);
    }
  } finally {
    backend.release(keys);
  }
  return values;
}
