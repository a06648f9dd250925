import { basename } from 'node:path';
import { BadFileError } from '../errors.js';
import { readNpy, type NpyArray } from './npy.js';

/**
 * Per-step rewards of many candidates: value(p, i, s) is the reward of candidate i of prompt p on the Tweedie
 * estimate after denoising step s (0-based); s = steps-1 is the clean image. `narf` holds the noise-aware
 * reward at the same positions (equal to `base` where no noise-aware model exists).
 */
export interface RewardTrace {
  readonly name: string;
  readonly prompts: number;
  readonly candidates: number;
  readonly steps: number;
  readonly base: Float32Array;
  readonly narf: Float32Array;
  /** false when no narf file was given (then narf === base) */
  readonly hasNarf: boolean;
}

function checkRank(arr: NpyArray, file: string): [number, number, number] {
  if (arr.shape.length !== 3) throw new BadFileError(file, `has rank ${arr.shape.length}; expected [prompts, candidates, steps]`);
  const [p, c, s] = arr.shape as [number, number, number];
  if (p < 1 || c < 1 || s < 2) throw new BadFileError(file, `shape (${p}, ${c}, ${s}) needs >= 1 prompt, >= 1 candidate, >= 2 steps`);
  return [p, c, s];
}

/** Rankings need comparable numbers: NaN and infinities are refused with their position. */
function checkFinite(arr: NpyArray, file: string, [, c, s]: [number, number, number]): void {
  const data = arr.data;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v - v !== 0) {
      const p = Math.floor(i / (c * s));
      throw new BadFileError(file, `holds ${v} at [${p}, ${Math.floor(i / s) % c}, ${i % s}]; expected finite rewards`);
    }
  }
}

/**
 * Loads a base trace and, optionally, its noise-aware twin; the shapes must match. Non-finite rewards are
 * refused unless `allowNonFinite` (the trace backend's --allow-nonfinite, to replay a broken reward model:
 * the engine ranks such scores last).
 */
export function loadRewardTrace(baseFile: string, narfFile?: string, name?: string, allowNonFinite = false): RewardTrace {
  const base = readNpy(baseFile);
  const dims = checkRank(base, baseFile);
  const [prompts, candidates, steps] = dims;
  if (!allowNonFinite) checkFinite(base, baseFile, dims);
  let narf = base;
  if (narfFile !== undefined) {
    narf = readNpy(narfFile);
    checkRank(narf, narfFile);
    if (narf.shape.join() !== base.shape.join()) {
      throw new BadFileError(narfFile, `shape (${narf.shape.join(', ')}) does not match the base trace's (${base.shape.join(', ')})`);
    }
    if (!allowNonFinite) checkFinite(narf, narfFile, dims);
  }
  return {
    name: name ?? basename(baseFile).replace(/(_base)?\.npy$/, ''),
    prompts,
    candidates,
    steps,
    base: base.data,
    narf: narf.data,
    hasNarf: narfFile !== undefined,
  };
}

/** Offset of value(p, i, 0) in the flat arrays; value(p, i, s) is at offset + s. */
export function traceOffset(trace: RewardTrace, prompt: number, candidate: number): number {
  return (prompt * trace.candidates + candidate) * trace.steps;
}
