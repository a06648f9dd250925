import { placeBatch, type TweedieChunk } from '../../core/contract/collect.js';
import type { WorkerBackend } from '../../worker/backend.js';
import { collectChunk } from '../../worker/collect/chunk.js';
import { candidateSpecs, type CollectSpec } from './spec.js';

/**
 * Collects every candidate of one prompt on one backend (the embedded collect), in batches of the backend's size
 * cut where the coordinator cuts them for remote workers; returns [reward][base, narf][candidate][step]. The
 * decoded Tweedie images at the saved steps go to `onTweedie` as they are decoded (candidate: index in the prompt).
 */
export async function collectPrompt(
  backend: WorkerBackend,
  spec: CollectSpec,
  position: number,
  onTweedie: (chunk: TweedieChunk) => void,
  signal?: AbortSignal,
): Promise<Float32Array> {
  const { steps: S, candidates: I } = spec;
  const values = new Float32Array(spec.rewards.length * 2 * I * S);
  const specs = candidateSpecs(spec, position);
  const batch = backend.info.maxBatch;
  for (let b0 = 0; b0 < specs.length; b0 += batch) {
    const chunk = await collectChunk(backend, specs.slice(b0, b0 + batch), spec, {
      ...(signal ? { signal } : {}),
      onTweedie: (c) => onTweedie({ ...c, candidate: b0 + c.candidate }),
    });
    placeBatch(values, chunk, b0, I, S, spec.rewards.length);
  }
  return values;
}
