import { Rng, sampleWithoutReplacement } from '../../core/engine/rng.js';

const COLOURS = ['red', 'green', 'blue', 'yellow'];
const SHAPES = ['circle', 'square', 'triangle'];
const RELATIONS = ['above', 'below', 'left of', 'right of'];

/** Every caption of the tiny bundle's grammar: one shape, or two of different colours placed relative to each other. */
function captions(): string[] {
  const objects = COLOURS.flatMap((c) => SHAPES.map((s) => ({ c, s })));
  const out = objects.map((o) => `a ${o.c} ${o.s}`);
  for (const a of objects) for (const r of RELATIONS) for (const b of objects) if (a.c !== b.c) out.push(`a ${a.c} ${a.s} ${r} a ${b.c} ${b.s}`);
  return out;
}

/** Two disjoint seeded draws from the grammar: training prompts and held-out prompts. */
export function tinyPrompts(train: number, heldOut: number, seed: number): { train: string[]; heldOut: string[] } {
  const all = captions();
  const rng = new Rng(seed);
  const picked = Array.from(sampleWithoutReplacement(all.length, train + heldOut, rng), (i) => all[i] as string);
  // the draw comes back in grammar order: a second draw picks which of them train, so both sets span the grammar
  const toTrain = new Set(sampleWithoutReplacement(picked.length, train, rng));
  return { train: picked.filter((_, i) => toTrain.has(i)), heldOut: picked.filter((_, i) => !toTrain.has(i)) };
}
