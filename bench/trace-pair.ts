import { join } from 'node:path';
import { writeNpy } from '../core/trace/npy.js';
import { syntheticTrace } from '../core/trace/synthetic.js';

/** Writes a generated trace as `<dir>/synthetic_base.npy` and `synthetic_narf.npy` (search --base/--narf read them); returns both paths. */
export function writeSyntheticPair(dir: string, prompts: number, candidates: number, seed = 1): { base: string; narf: string } {
  const t = syntheticTrace({ prompts, candidates, steps: 20, seed });
  const base = join(dir, 'synthetic_base.npy');
  const narf = join(dir, 'synthetic_narf.npy');
  writeNpy(base, { shape: [prompts, candidates, 20], data: t.base });
  writeNpy(narf, { shape: [prompts, candidates, 20], data: t.narf });
  return { base, narf };
}
