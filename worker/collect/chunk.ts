import type { RewardSpec } from '../../core/contract/backend-info.js';
import type { CandidateKey } from '../../core/contract/candidates.js';
import { tweedieChunks, valueOffset, type CollectPlan, type TweedieChunk } from '../../core/contract/collect.js';
import { ValidationError } from '../../core/errors.js';
import type { CandidateSpec, WorkerBackend } from '../backend.js';

/** A backend that can hand back the decoded images its rewards saw (the ONNX backend). */
export interface ImageBackend extends WorkerBackend {
  images(keys: readonly CandidateKey[], signal?: AbortSignal): Promise<Float32Array>;
}

export function canDecode(b: WorkerBackend): b is ImageBackend {
  return typeof (b as Partial<ImageBackend>).images === 'function';
}

/** Runs one backend call at a time: the worker runtime's mutex (search jobs share the backend); direct when embedded. */
export type Serialise = <T>(call: () => Promise<T>) => Promise<T>;

const direct: Serialise = (call) => call();

export interface ChunkOptions {
  readonly signal?: AbortSignal;
  readonly serialise?: Serialise;
  /**
   * gets the decoded Tweedie images at the plan's saveTweedie steps, in chunks (candidate: index in this batch);
   * awaited, so a slow receiver holds the batch back. Without it no image is decoded.
   */
  readonly onTweedie?: (chunk: TweedieChunk) => Promise<void> | void;
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
  const decoder = o.onTweedie && plan.saveTweedie.length > 0 ? imagesOf(backend) : undefined;
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
      const slot = decoder ? plan.saveTweedie.indexOf(s) : -1;
      if (decoder && slot >= 0) {
        const img = await serialise(() => decoder.images(keys, o.signal));
        for (const chunk of tweedieChunks(img, n, slot)) await o.onTweedie?.(chunk);
      }
    }
  } finally {
    backend.release(keys);
  }
  return values;
}

function imagesOf(backend: WorkerBackend): ImageBackend {
  if (!canDecode(backend)) throw new ValidationError('save_tweedie', `the ${backend.info.backend} backend cannot decode images`, 'none (a model backend keeps images)');
  return backend;
}
