import { fillRect, type Raster } from './raster.js';

/** Rows of a glyph above the baseline (digits and capitals fill them); g j p q y , add one row below. */
export const GLYPH_HEIGHT = 5;
/** Rows including the descender: the height to reserve for a line of mixed-case text, at scale 1. */
export const LINE_HEIGHT = GLYPH_HEIGHT + 1;

// A 3x5 bitmap font (Tom Thumb-like): one row per 3 bits, MSB left; a sixth row is a descender. Digits, ':' and
// '#' are the contact sheet's labels and keep their shapes; letters and punctuation label charts.
const GLYPHS: Readonly<Record<string, readonly number[]>> = {
  '0': [7, 5, 5, 5, 7],
  '1': [2, 6, 2, 2, 7],
  '2': [7, 1, 7, 4, 7],
  '3': [7, 1, 7, 1, 7],
  '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7],
  '6': [7, 4, 7, 5, 7],
  '7': [7, 1, 1, 1, 1],
  '8': [7, 5, 7, 5, 7],
  '9': [7, 5, 7, 1, 7],
  ':': [0, 2, 0, 2, 0],
  '#': [5, 7, 5, 7, 5],
  A: [2, 5, 7, 5, 5],
  B: [6, 5, 6, 5, 6],
  C: [3, 4, 4, 4, 3],
  D: [6, 5, 5, 5, 6],
  E: [7, 4, 7, 4, 7],
  F: [7, 4, 7, 4, 4],
  G: [3, 4, 5, 5, 3],
  H: [5, 5, 7, 5, 5],
  I: [7, 2, 2, 2, 7],
  J: [1, 1, 1, 5, 2],
  K: [5, 5, 6, 5, 5],
  L: [4, 4, 4, 4, 7],
  M: [7, 7, 5, 5, 5],
  N: [5, 7, 7, 5, 5],
  O: [2, 5, 5, 5, 2],
  P: [6, 5, 6, 4, 4],
  Q: [2, 5, 5, 7, 3],
  R: [6, 5, 6, 5, 5],
  S: [3, 4, 2, 1, 6],
  T: [7, 2, 2, 2, 2],
  U: [5, 5, 5, 5, 7],
  V: [5, 5, 5, 2, 2],
  W: [5, 5, 5, 7, 5],
  X: [5, 5, 2, 5, 5],
  Y: [5, 5, 2, 2, 2],
  Z: [7, 1, 2, 4, 7],
  a: [0, 6, 1, 7, 7],
  b: [4, 4, 6, 5, 6],
  c: [0, 3, 4, 4, 3],
  d: [1, 1, 3, 5, 3],
  e: [0, 2, 5, 6, 3],
  f: [1, 2, 7, 2, 2],
  g: [0, 3, 5, 7, 1, 6],
  h: [4, 4, 6, 5, 5],
  i: [2, 0, 2, 2, 2],
  j: [1, 0, 1, 1, 5, 2],
  k: [4, 5, 6, 6, 5],
  l: [6, 2, 2, 2, 7],
  m: [0, 7, 7, 7, 5],
  n: [0, 6, 5, 5, 5],
  o: [0, 2, 5, 5, 2],
  p: [0, 6, 5, 5, 6, 4],
  q: [0, 3, 5, 5, 3, 1],
  r: [0, 3, 4, 4, 4],
  s: [0, 3, 4, 1, 6],
  t: [2, 7, 2, 2, 3],
  u: [0, 5, 5, 5, 3],
  v: [0, 5, 5, 7, 2],
  w: [0, 5, 7, 7, 7],
  x: [0, 5, 2, 2, 5],
  y: [0, 5, 5, 3, 1, 6],
  z: [0, 7, 3, 6, 7],
  '.': [0, 0, 0, 0, 2],
  ',': [0, 0, 0, 0, 2, 4],
  ';': [0, 2, 0, 2, 2, 4],
  '-': [0, 0, 7, 0, 0],
  '+': [0, 2, 7, 2, 0],
  '=': [0, 7, 0, 7, 0],
  '_': [0, 0, 0, 0, 7],
  '(': [1, 2, 2, 2, 1],
  ')': [4, 2, 2, 2, 4],
  '[': [6, 4, 4, 4, 6],
  ']': [3, 1, 1, 1, 3],
  '<': [1, 2, 4, 2, 1],
  '>': [4, 2, 1, 2, 4],
  '/': [1, 1, 2, 4, 4],
  '%': [5, 1, 2, 4, 5],
  '*': [0, 5, 2, 5, 0],
  '!': [2, 2, 2, 0, 2],
  '?': [7, 1, 2, 0, 2],
  "'": [2, 2, 0, 0, 0],
  '"': [5, 5, 0, 0, 0],
  '|': [2, 2, 2, 2, 2],
};

/** Width in pixels of `text` drawn at `scale` (3 px glyph + 1 px gap, per character). */
export function textWidth(text: string, scale: number): number {
  return Math.max(0, [...text].length * 4 * scale - scale);
}

/**
 * Draws `text` with its top-left corner at (x, y), each font pixel a `scale` x `scale` square: letters, digits
 * and common punctuation; other characters are spaces. Descenders go one row (`scale` px) below the glyphs.
 */
export function drawText(dst: Raster, text: string, x: number, y: number, scale: number, rgb: readonly [number, number, number]): void {
  [...text].forEach((ch, k) => {
    const g = GLYPHS[ch];
    if (!g) return;
    g.forEach((bits, row) => {
      for (let col = 0; col < 3; col++) {
        if (bits & (4 >> col)) fillRect(dst, x + (k * 4 + col) * scale, y + row * scale, scale, scale, rgb);
      }
    });
  });
}
