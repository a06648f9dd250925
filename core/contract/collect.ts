import { TtsnapError, ValidationError, type GrpcStatusName } from '../errors.js';
import type { CollectSourceResponse, CollectSourceResponse__Output } from '../generated/ttsnap/v1/CollectSourceResponse.js';
import type { CollectTweedieChunk, CollectTweedieChunk__Output } from '../generated/ttsnap/v1/CollectTweedieChunk.js';
import type { CollectVariantSteps, CollectVariantSteps__Output } from '../generated/ttsnap/v1/CollectVariantSteps.js';
import { infoFromProto, infoToProto, type BackendInfo } from './backend-info.js';

/**
 * What `ttsnap collect` asks of a worker for a batch of candidates: denoise every one to the last step and score
 * each step's Tweedie estimate with every reward's base model, and at its variant steps with its noise-aware one.
 * The same plan runs in the embedded collect and on remote workers, so both write the same values.
 */
export interface CollectPlan {
  readonly rewards: readonly string[];
  /** reward -> steps (< S-1) also scored by its noise-aware variant */
  readonly variantSteps: Readonly<Record<string, readonly number[]>>;
  /** steps whose decoded Tweedie images are kept (`collect --save-tweedie`; ascending; empty: none) */
  readonly saveTweedie: readonly number[];
}

/** Where collected values come from: a bundle (manifest name, content fingerprint) or a trace, and each reward's variant steps. */
export interface CollectSource {
  readonly name: string;
  readonly fingerprint: string;
  readonly variantSteps: Readonly<Record<string, readonly number[]>>;
}

/** A worker's source with its backend, as CollectSource answers. */
export interface WorkerCollectSource extends CollectSource {
  readonly info: BackendInfo;
}

/**
 * Values of a batch: [reward][0 base, 1 noise-aware][candidate][step], float32 (the trace files' type). A step
 * without a variant repeats the base score in the noise-aware slot; the last step is the finished image.
 */
export function valueOffset(reward: number, variant: 0 | 1, candidate: number, candidates: number, steps: number): number {
  return ((reward * 2 + variant) * candidates + candidate) * steps;
}

/** Copies a batch's values (candidates b0.. of a prompt) into the prompt's array of `candidates` candidates. */
export function placeBatch(into: Float32Array, batch: Float32Array, b0: number, candidates: number, steps: number, rewards: number): void {
  const n = batch.length / (rewards * 2 * steps);
  for (let r = 0; r < rewards; r++) {
    for (const v of [0, 1] as const) {
      into.set(batch.subarray(valueOffset(r, v, 0, n, steps), valueOffset(r, v, n, n, steps)), valueOffset(r, v, b0, candidates, steps));
    }
  }
}

/** Variant steps on the wire and back. */
export function variantStepsToProto(v: Readonly<Record<string, readonly number[]>>): CollectVariantSteps[] {
  return Object.entries(v).map(([reward, steps]) => ({ reward, steps: [...steps] }));
}

export function variantStepsFromProto(list: readonly CollectVariantSteps[]): Record<string, number[]> {
  return Object.fromEntries(list.map((v) => [v.reward ?? '', (v.steps ?? []).map(Number)]));
}

/** The worker's values would come from another bundle or trace than the collection's (FAILED_PRECONDITION). */
export class CollectSourceMismatchError extends TtsnapError {
  override readonly grpcStatus: GrpcStatusName = 'FAILED_PRECONDITION';
  /** `who`: 'worker w1', 'the workers' */
  constructor(who: string, want: string, got: string) {
    super(`${who} serve(s) a bundle or trace with fingerprint ${got.slice(0, 12)}..., not the collection's ${want.slice(0, 12) || '(none)'}...`);
  }
}

/** The rewards and variant steps of a collect request, checked against what the backend has (INVALID_ARGUMENT naming the field). */
export function checkCollectPlan(
  rewards: readonly string[],
  variants: readonly CollectVariantSteps__Output[],
  info: BackendInfo,
  source: CollectSource,
  saveTweedie: readonly number[] = [],
  field = '',
): CollectPlan {
  if (rewards.length === 0 || rewards.length > info.rewards.length) throw new ValidationError(`${field}rewards`, `${rewards.length} entries`, `1 to ${info.rewards.length} of ${info.rewards.join(' | ')}`);
  rewards.forEach((r, i) => {
    if (!info.rewards.includes(r)) throw new ValidationError(`${field}rewards[${i}]`, `unknown reward '${r.slice(0, 80)}'`, info.rewards.join(' | '));
    if (rewards.indexOf(r) !== i) throw new ValidationError(`${field}rewards[${i}]`, `'${r}' appears twice`, 'distinct rewards');
  });
  const variantSteps = variantStepsFromProto(variants);
  for (const [i, [reward, steps]] of Object.entries(variantSteps).entries()) {
    if (!rewards.includes(reward)) throw new ValidationError(`${field}variant_steps[${i}].reward`, `'${reward.slice(0, 80)}' is not asked for`, rewards.join(' | '));
    const has = source.variantSteps[reward] ?? [];
    const bad = steps.find((s) => !has.includes(s) || s >= info.steps - 1);
    if (bad !== undefined) throw new ValidationError(`${field}variant_steps[${i}].steps`, `no noise-aware ${reward} at step ${bad}`, `steps of [${has.join(', ')}]`);
  }
  return { rewards: [...rewards], variantSteps, saveTweedie: checkSaveTweedie(saveTweedie, info, `${field}save_tweedie`) };
}

/** Steps whose Tweedie images a collect request keeps: distinct, ascending, < steps, on a backend with images. */
function checkSaveTweedie(steps: readonly number[], info: BackendInfo, field: string): number[] {
  if (steps.length > 0 && !info.renders) throw new ValidationError(field, `the ${info.backend} backend has no images`, 'none (a model backend keeps images)');
  steps.forEach((s, i) => {
    if (!Number.isInteger(s) || s >= info.steps) throw new ValidationError(`${field}[${i}]`, `got ${s}`, `a step in [0, ${info.steps - 1}]`);
    if (i > 0 && s <= (steps[i - 1] as number)) throw new ValidationError(`${field}[${i}]`, `${s} after ${steps[i - 1]}`, 'distinct steps in ascending order');
  });
  return [...steps];
}

/**
 * A piece of one decoded Tweedie image (`collect --save-tweedie`): images of any size travel, and are written,
 * in pieces of at most TWEEDIE_CHUNK_VALUES values, well below the gRPC message caps.
 */
export interface TweedieChunk {
  /** the candidate's index in its batch (from a worker) or in its prompt (from the coordinator, and to the store) */
  readonly candidate: number;
  /** index of the step in the plan's saveTweedie */
  readonly slot: number;
  /** where the piece starts in the image, in values */
  readonly offset: number;
  /** values in the whole image (3 * H * W) */
  readonly imageValues: number;
  readonly data: Float32Array;
}

/** 1 MiB of float32 a chunk. */
export const TWEEDIE_CHUNK_VALUES = 256 * 1024;

/** Cuts a batch's images at one saved step ([candidate][3 * H * W]) into chunks. */
export function* tweedieChunks(images: Float32Array, candidates: number, slot: number, maxValues = TWEEDIE_CHUNK_VALUES): Generator<TweedieChunk> {
  const per = images.length / candidates;
  for (let j = 0; j < candidates; j++) {
    for (let offset = 0; offset < per; offset += maxValues) {
      yield { candidate: j, slot, offset, imageValues: per, data: images.subarray(j * per + offset, j * per + Math.min(per, offset + maxValues)) };
    }
  }
}

export function tweedieChunkToProto(c: TweedieChunk): CollectTweedieChunk {
  return { candidate: c.candidate, slot: c.slot, offset: c.offset, image_values: c.imageValues, data: Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength) };
}

/** A chunk off the wire: its data whole float32 values that fit in the image (INVALID_ARGUMENT otherwise). */
export function tweedieChunkFromProto(m: CollectTweedieChunk__Output, field = 'tweedie'): TweedieChunk {
  if (m.data.length % 4 !== 0) throw new ValidationError(`${field}.data`, `${m.data.length} bytes`, 'whole float32 values');
  const data = new Float32Array(m.data.length / 4);
  Buffer.from(data.buffer).set(m.data);
  if (m.image_values === 0 || m.offset + data.length > m.image_values) {
    throw new ValidationError(`${field}.offset`, `values ${m.offset}..${m.offset + data.length} of an image of ${m.image_values}`, 'a piece inside the image');
  }
  return { candidate: m.candidate, slot: m.slot, offset: m.offset, imageValues: m.image_values, data };
}

/** A worker's source on the wire, and back (null when the answer names no backend). */
export function collectSourceToProto(source: CollectSource, info: BackendInfo): CollectSourceResponse {
  return { name: source.name, fingerprint: source.fingerprint, variant_steps: variantStepsToProto(source.variantSteps), info: infoToProto(info) };
}

export function collectSourceFromProto(res: CollectSourceResponse__Output): WorkerCollectSource | null {
  const info = infoFromProto(res.info);
  return info ? { name: res.name, fingerprint: res.fingerprint, variantSteps: variantStepsFromProto(res.variant_steps), info } : null;
}
