import { placeBatch } from '../../core/contract/collect.js';
import type { CandidateKey } from '../../core/contract/candidates.js';
import type { WorkerBackend } from '../../worker/backend.js';
import { collectChunk } from '../../worker/collect/chunk.js';
import { candidateSpecs, type CollectSpec } from './spec.js';

/** A backend that can hand back the decoded images its rewards saw (the ONNX backend). */
export interface ImageBackend extends WorkerBackend {
  images(keys: readonly CandidateKey[], signal?: AbortSignal): Promise<Float32Array>;
}

export function canDecode(b: WorkerBackend): b is ImageBackend {
  return typeof (b as Partial<ImageBackend>).images === 'function';
}

/** One prompt's collected values. */
export interface PromptValues {
  /** [reward][variant: 0 base, 1 narf][candidate][step], float32 */
  readonly values: Float32Array;
  /** [candidate][saved step][...image], float32; empty when no step is saved */
  readonly tweedie: Float32Array;
}

/**
 * Collects every candidate of one prompt on one backend (the embedded collect), in batches of the backend's size
 * cut where the coordinator cuts them for remote workers, and keeps the decoded Tweedie images at the saved steps.
 */
export async function collectPrompt(backend: WorkerBackend, spec: CollectSpec, position: number, signal?: AbortSignal): Promise<PromptValues> {
  const { steps: S, candidates: I } = spec;
  const values = new Float32Array(spec.rewards.length * 2 * I * S);
  const saved = spec.saveTweedie;
  const images = saved.length > 0 && canDecode(backend) ? backend : undefined;
  if (saved.length > 0 && !images) throw new RangeError(`the ${backend.info.backend} backend cannot decode images for --save-tweedie`);
  let tweedie = new Float32Array(0);
  const specs = candidateSpecs(spec, position);
  const batch = backend.info.maxBatch;
  for (let b0 = 0; b0 < specs.length; b0 += batch) {
    const keep = async (s: number, keys: readonly CandidateKey[]): Promise<void> => {
      const slot = saved.indexOf(s);
      if (!images || slot < 0) return;
      const img = await images.images(keys, signal);
      const per = img.length / keys.length;
      if (tweedie.length === 0) tweedie = new Float32Array(I * saved.length * per);
      for (let j = 0; j < keys.length; j++) tweedie.set(img.subarray(j * per, (j + 1) * per), ((b0 + j) * saved.length + slot) * per);
    };
    const chunk = await collectChunk(backend, specs.slice(b0, b0 + batch), spec, { ...(signal ? { signal } : {}), afterStep: keep });
    placeBatch(values, chunk, b0, I, S, spec.rewards.length);
  }
  return { values, tweedie };
}
