import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer, type Tokenizer } from '../../worker/onnx/tokenizer.js';
import { TINY } from './helpers.js';

/**
 * The recipe's claim about the committed rewards, checked on scenes drawn here the way models/recipe/data.py draws
 * them (4x supersampled masks, same palette and background, objects at the recipe's nominal places): the align
 * reward ranks the true caption above every kind of hard negative, and the quality reward ranks a clean drawing
 * above damaged copies.
 */
type Shape = 'circle' | 'square' | 'triangle';
type Colour = 'red' | 'green' | 'blue' | 'yellow';
const RGB: Record<Colour, [number, number, number]> = {
  red: [0.95, 0.15, 0.12], green: [0.15, 0.8, 0.2], blue: [0.15, 0.35, 0.95], yellow: [0.98, 0.88, 0.15],
};
const BACKGROUND: [number, number, number] = [0.08, 0.08, 0.1];
const SIDE = 32;
const SS = 4;

interface Obj { shape: Shape; colour: Colour; cx: number; cy: number; r: number }

function inside(o: Obj, x: number, y: number): boolean {
  if (o.shape === 'circle') return (x - o.cx) ** 2 + (y - o.cy) ** 2 <= o.r * o.r;
  if (o.shape === 'square') return Math.abs(x - o.cx) <= 0.85 * o.r && Math.abs(y - o.cy) <= 0.85 * o.r;
  const r = 1.2 * o.r;
  return y >= o.cy - r && y <= o.cy + 0.5 * r && Math.abs(x - o.cx) <= 0.5774 * (y - o.cy + r);
}

/** pixel_values [3,32,32] in [-1,1] (the manifest's mean/std of 0.5 applied to an image in [0,1]). */
function draw(objs: Obj[]): Float32Array {
  const px = new Float32Array(3 * SIDE * SIDE);
  for (let py = 0; py < SIDE; py++) {
    for (let pxl = 0; pxl < SIDE; pxl++) {
      const acc = [0, 0, 0];
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const x = pxl + (sx + 0.5) / SS;
          const y = py + (sy + 0.5) / SS;
          const hit = objs.find((o) => inside(o, x, y));
          const c = hit ? RGB[hit.colour] : BACKGROUND;
          for (let k = 0; k < 3; k++) acc[k] = (acc[k] as number) + (c[k] as number);
        }
      }
      for (let k = 0; k < 3; k++) px[k * SIDE * SIDE + py * SIDE + pxl] = ((acc[k] as number) / (SS * SS)) * 2 - 1;
    }
  }
  return px;
}

/** Two objects: the first above (or left of) the second, at the recipe's nominal places. */
function pair(a: [Colour, Shape], b: [Colour, Shape], vertical: boolean): Float32Array {
  const at = (p: number): { cx: number; cy: number } => (vertical ? { cx: 16, cy: p } : { cx: p, cy: 16 });
  return draw([
    { colour: a[0], shape: a[1], r: 5.8, ...at(9) },
    { colour: b[0], shape: b[1], r: 5.8, ...at(23) },
  ]);
}

describe('the tiny bundle rewards prefer what matches', () => {
  let align: ort.InferenceSession;
  let quality: ort.InferenceSession;
  let tok: Tokenizer;
  beforeAll(async () => {
    align = await ort.InferenceSession.create(join(TINY, 'rewards', 'align', 'model.onnx'));
    quality = await ort.InferenceSession.create(join(TINY, 'rewards', 'quality', 'model.onnx'));
    tok = loadTokenizer(join(TINY, 'tokenizer'), 16);
  });
  afterAll(async () => {
    await align.release();
    await quality.release();
  });

  async function alignScores(image: Float32Array, captions: string[]): Promise<number[]> {
    const n = captions.length;
    const pixels = new Float32Array(n * image.length);
    const ids = new BigInt64Array(n * 16);
    captions.forEach((c, i) => {
      pixels.set(image, i * image.length);
      tok.encode(c).forEach((v, j) => { ids[i * 16 + j] = BigInt(v); });
    });
    const out = await align.run({
      pixel_values: new ort.Tensor('float32', pixels, [n, 3, SIDE, SIDE]),
      input_ids: new ort.Tensor('int64', ids, [n, 16]),
    });
    return Array.from(out.score?.data as Float32Array);
  }

  const cases: { image: () => Float32Array; truth: string[]; negatives: string[] }[] = [
    {
      image: () => pair(['red', 'circle'], ['blue', 'square'], true),
      truth: ['a red circle above a blue square', 'a blue square below a red circle'],
      negatives: ['a green circle above a blue square', 'a red triangle above a blue square',
        'a red circle below a blue square', 'a blue square above a red circle'],
    },
    {
      image: () => pair(['green', 'triangle'], ['yellow', 'circle'], false),
      truth: ['a green triangle left of a yellow circle', 'a yellow circle right of a green triangle'],
      negatives: ['a green triangle left of a red circle', 'a green square left of a yellow circle',
        'a green triangle right of a yellow circle', 'a yellow circle left of a green triangle'],
    },
    {
      image: () => draw([{ colour: 'blue', shape: 'square', cx: 16, cy: 16, r: 8 }]),
      truth: ['a blue square'],
      negatives: ['a red square', 'a blue circle', 'a blue triangle', 'a yellow square'],
    },
  ];

  it.each(cases.map((c, i) => [i, c] as const))('case %i: every true caption outscores every hard negative', async (_i, c) => {
    const scores = await alignScores(c.image(), [...c.truth, ...c.negatives]);
    const worstTrue = Math.min(...scores.slice(0, c.truth.length));
    const bestNegative = Math.max(...scores.slice(c.truth.length));
    expect(worstTrue).toBeGreaterThan(bestNegative);
  });

  it('quality: a clean drawing outscores its noisy and its blocky copy', async () => {
    const clean = pair(['red', 'circle'], ['blue', 'square'], true);
    let seed = 12345;
    const rand = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 - 0.5; };
    const noisy = clean.map((v) => Math.max(-1, Math.min(1, v + 0.8 * rand())));
    const blocky = clean.map((_v, i) => {
      const k = Math.floor(i / (SIDE * SIDE));
      const y = Math.floor((i % (SIDE * SIDE)) / SIDE);
      const x = i % SIDE;
      return clean[k * SIDE * SIDE + (y - (y % 4)) * SIDE + (x - (x % 4))] as number;
    });
    const pixels = new Float32Array(3 * clean.length);
    [clean, noisy, blocky].forEach((im, i) => pixels.set(im, i * clean.length));
    const out = await quality.run({ pixel_values: new ort.Tensor('float32', pixels, [3, 3, SIDE, SIDE]) });
    const [c, n, b] = Array.from(out.score?.data as Float32Array) as [number, number, number];
    expect(c).toBeGreaterThan(n);
    expect(c).toBeGreaterThan(b);
  });
});
