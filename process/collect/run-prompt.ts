import { LedgerBook, type Ledger } from '../../core/engine/ledger.js';
import type { RewardSpec } from '../../core/contract/backend-info.js';
import type { CandidateKey } from '../../core/contract/candidates.js';
import type { WorkerBackend } from '../../worker/backend.js';
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
  readonly ledger: Ledger;
}

/**
 * Denoises every candidate of one prompt to the end on one backend, in batches of the backend's size, and
 * scores each batch at every step: one score call per step with every reward's base model and the variants
 * that step has, so the backend decodes each Tweedie estimate once. Steps without a variant copy the base
 * score into the narf slot; the last step is the finished image.
 */
export async function collectPrompt(backend: WorkerBackend, spec: CollectSpec, position: number, signal?: AbortSignal): Promise<PromptValues> {
  const { steps: S, candidates: I, rewards } = spec;
  const R = rewards.length;
  const values = new Float32Array(R * 2 * I * S);
  const saved = spec.saveTweedie;
  const images = saved.length > 0 && canDecode(backend) ? backend : undefined;
  if (saved.length > 0 && !images) throw new RangeError(`the ${backend.info.backend} backend cannot decode images for --save-tweedie`);
  let tweedie = new Float32Array(0);
  const book = new LedgerBook({ ...spec.cost, steps: S }, 'exact', []);
  const specs = candidateSpecs(spec, position);
  book.addCandidates(specs.length);
  const batch = backend.info.maxBatch;
  for (let b0 = 0; b0 < specs.length; b0 += batch) {
    const chunk = specs.slice(b0, b0 + batch);
    const keys = chunk.map((c) => c.key);
    await backend.create(chunk, signal);
    try {
      for (let s = 0; s < S; s++) {
        await backend.advance(keys.map((key) => ({ key, toStep: s })), signal);
        book.addDenoise(s, keys.length);
        const narfAt = s < S - 1 ? rewards.filter((r) => spec.variantSteps[r]?.includes(s)) : [];
        const asked: RewardSpec[] = [...rewards.map((name) => ({ name, noiseAware: false })), ...narfAt.map((name) => ({ name, noiseAware: true }))];
        const scores = await backend.score(keys, asked, signal);
        asked.forEach((r) => book.addRewardCalls(s, r.name, keys.length));
        rewards.forEach((r, ri) => {
          const base = scores[ri] as Float64Array;
          const k = narfAt.indexOf(r);
          const narf = k >= 0 ? (scores[R + k] as Float64Array) : base;
          for (let j = 0; j < keys.length; j++) {
            const i = b0 + j;
            values[((ri * 2 + 0) * I + i) * S + s] = base[j] as number;
            values[((ri * 2 + 1) * I + i) * S + s] = narf[j] as number;
          }
        });
        const slot = saved.indexOf(s);
        if (images && slot >= 0) {
          const img = await images.images(keys, signal);
          const per = img.length / keys.length;
          if (tweedie.length === 0) tweedie = new Float32Array(I * saved.length * per);
          for (let j = 0; j < keys.length; j++) tweedie.set(img.subarray(j * per, (j + 1) * per), ((b0 + j) * saved.length + slot) * per);
        }
      }
    } finally {
      backend.release(keys);
    }
  }
  return { values, tweedie, ledger: book.summary() };
}
