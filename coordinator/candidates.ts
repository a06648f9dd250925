import { Rng, sampleWithoutReplacement } from '../core/engine/rng.js';

/** 32-bit mix of several integers (splitmix-style finaliser); the same on every machine. */
function mix(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/**
 * The candidates of one prompt: with a trace of `pool` columns, n distinct columns drawn by a generator seeded
 * from (seed, prompt), ascending; without a pool (model backends), 0..n-1. Pure: the engine alone, the
 * embedded and the distributed runs all call this, so they search the same candidates.
 */
export function drawCandidates(pool: number, n: number, seed: number, prompt: number): Int32Array {
  if (pool <= 0) return Int32Array.from({ length: n }, (_, i) => i);
  return sampleWithoutReplacement(pool, n, new Rng(mix(seed, prompt)));
}

/** The noise seed of candidate `index` of `prompt` in a job seeded with `seed` (uint32). */
export function candidateSeed(seed: number, prompt: number, index: number): number {
  return mix(seed, prompt, index, 0x5eed);
}
