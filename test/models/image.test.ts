import { describe, expect, it } from 'vitest';
import { drawContactSheet } from '../../core/image/contact-sheet.js';
import { drawText, textWidth } from '../../core/image/font.js';
import { decodePng, encodePng } from '../../core/image/png.js';
import { blankRaster, tensorToRaster, type Raster } from '../../core/image/raster.js';

const solid = (v: number): Raster => tensorToRaster(new Float32Array(3 * 4 * 4).fill(v), 0, 4, 4);
const px = (r: Raster, x: number, y: number): number[] => Array.from(r.data.subarray((y * r.width + x) * 4, (y * r.width + x) * 4 + 4));

describe('images', () => {
  it('maps [-1, 1] to 0..255 per channel, clamped, rounded', () => {
    const t = new Float32Array(3 * 1 * 2);
    t.set([-1, 1, 0, 2, -0.5, -3]); // R plane, G plane, B plane of a 1x2 image
    const r = tensorToRaster(t, 0, 1, 2);
    expect(px(r, 0, 0)).toEqual([0, 128, 64, 255]);
    expect(px(r, 1, 0)).toEqual([255, 255, 0, 255]);
    expect(decodePng(encodePng(r))).toEqual(r);
  });

  it('contact sheet: one column per candidate, one row per stage; pruned crossed, winner framed, later cells empty', () => {
    const white = solid(1);
    const sheet = drawContactSheet({
      candidates: [0, 1],
      stages: [
        { step: 2, images: new Map([[0, white], [1, white]]), pruned: new Set([1]) },
        { step: 19, images: new Map([[0, white]]), pruned: new Set() },
      ],
      winner: 0,
    });
    // 4 px images upscaled x16 to 64 px, 4 px padding -> 72 px cells; label column 2*4+8+7*2 = 30; header 18
    expect([sheet.width, sheet.height]).toEqual([30 + 2 * 72, 18 + 2 * 72]);
    const cell = (col: number, row: number, dx: number, dy: number): number[] => px(sheet, 30 + col * 72 + dx, 18 + row * 72 + dy);
    expect(cell(0, 0, 30, 20)).toEqual([255, 255, 255, 255]); // alive, untouched
    expect(cell(1, 0, 30, 20)).toEqual([89, 89, 89, 255]); // pruned: darkened to 35 %
    expect(cell(1, 0, 4 + 10, 4 + 10)).toEqual([230, 60, 60, 255]); // ... and crossed in red
    expect(cell(0, 1, 1, 30)).toEqual([250, 200, 40, 255]); // winner's frame
    expect(cell(1, 1, 30, 30)).toEqual([32, 32, 36, 255]); // pruned earlier: empty
  });

  it('font: 3x5 glyphs 4 px apart per scale, descenders one row below, unknown characters blank', () => {
    const r = blankRaster(12, 6);
    drawText(r, 'Ty~', 0, 0, 1, [0, 0, 0]);
    const ink = (x: number, y: number): number => ((px(r, x, y)[0] as number) === 0 ? 1 : 0);
    const rows = Array.from({ length: 6 }, (_, y) => Array.from({ length: 12 }, (_, x) => ink(x, y)).join(''));
    expect(rows).toEqual(['111000000000', '010010100000', '010010100000', '010001100000', '010000100000', '000011000000']);
    expect([textWidth('Ty~', 1), textWidth('12', 2)]).toEqual([11, 14]);
  });
});
