import { fillRect, type Raster } from './raster.js';

// 3x5 bitmaps of 0-9, ':' and '#', one row per 3 bits (MSB left): enough to label steps and candidates.
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
};

/** Width in pixels of `text` drawn at `scale` (3 px glyph + 1 px gap, per character). */
export function textWidth(text: string, scale: number): number {
  return Math.max(0, text.length * 4 * scale - scale);
}

/** Draws digits (and ':' '#'; other characters are spaces) with the top-left corner at (x, y). */
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
