import { describe, expect, it } from 'vitest';
import { contactSheetSvg } from '../../core/image/contact-sheet.js';
import { gridSvg } from '../../core/image/grid.js';
import { decodePng, encodePng } from '../../core/image/png.js';
import { tensorToRaster, type Raster } from '../../core/image/raster.js';
import { svgToPng } from '../../core/image/svg-png.js';
import { thumbnail } from '../../core/image/thumbnail.js';

const solid = (v: number, size = 4): Raster => tensorToRaster(new Float32Array(3 * size * size).fill(v), 0, size, size);
const px = (r: Raster, x: number, y: number): number[] => Array.from(r.data.subarray((y * r.width + x) * 4, (y * r.width + x) * 4 + 4));

/** A 2x2 image with four different pixels: red, green / blue, white. */
function checker(): Raster {
  const t = new Float32Array(3 * 4).fill(-1);
  t.set([1, -1, -1, 1], 0); // R: top-left, bottom-right
  t.set([-1, 1, -1, 1], 4); // G: top-right, bottom-right
  t.set([-1, -1, 1, 1], 8); // B: bottom-left, bottom-right
  return tensorToRaster(t, 0, 2, 2);
}

describe('images', () => {
  it('maps [-1, 1] to 0..255 per channel, clamped, rounded', () => {
    const t = new Float32Array(3 * 1 * 2);
    t.set([-1, 1, 0, 2, -0.5, -3]); // R plane, G plane, B plane of a 1x2 image
    const r = tensorToRaster(t, 0, 1, 2);
    expect(px(r, 0, 0)).toEqual([0, 128, 64, 255]);
    expect(px(r, 1, 0)).toEqual([255, 255, 0, 255]);
    expect(decodePng(encodePng(r))).toEqual(r);
  });

  it('thumbnail: a tiny image grows by whole factors with hard pixel edges (no blur)', async () => {
    const t = await thumbnail(checker(), 7); // floor(7 / 2) = 3
    expect([t.width, t.height]).toEqual([6, 6]);
    const r = decodePng(t.png);
    expect([px(r, 0, 0), px(r, 2, 2), px(r, 3, 0), px(r, 5, 2), px(r, 0, 3), px(r, 5, 5)]).toEqual([
      [255, 0, 0, 255], [255, 0, 0, 255], [0, 255, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255], [255, 255, 255, 255],
    ]);
    const same = await thumbnail(checker(), 7, false);
    expect([same.width, same.height]).toEqual([2, 2]);
  });

  it('thumbnail: a big image shrinks into the box, keeping its aspect ratio', async () => {
    const wide = tensorToRaster(new Float32Array(3 * 100 * 400).fill(0.5), 0, 100, 400);
    const t = await thumbnail(wide, 96);
    expect([t.width, t.height]).toEqual([96, 24]);
    expect(px(decodePng(t.png), 40, 10)).toEqual([191, 191, 191, 255]);
  });

  it('contact sheet: the prompt, every score, kept/pruned/winner, and pictures only where a candidate was alive', async () => {
    const svg = await contactSheetSvg({
      prompt: 'a <red> circle',
      reward: 'align',
      candidates: [0, 1, 2],
      stages: [
        { step: 2, alive: [0, 1, 2], pruned: new Set([1]), images: new Map([[0, solid(1)], [1, solid(-1)], [2, solid(0)]]), scores: new Map([[0, 1.5], [1, -0.25], [2, 0.75]]) },
        { step: 19, alive: [0, 2], pruned: new Set(), images: new Map([[0, solid(1)], [2, solid(0)]]), scores: new Map([[0, 2], [2, 1]]) },
      ],
      winner: 0,
    });
    expect(svg).toContain('a &lt;red&gt; circle');
    expect(svg).toContain('3 candidates; pruned at steps 2; winner #0; scores: align');
    for (const s of ['1.500', '-0.2500', '0.7500', '2.000', '1.000']) expect(svg).toContain(`>${s}<`);
    expect(svg.match(/>pruned</g)).toHaveLength(1);
    expect(svg.match(/>kept</g)).toHaveLength(2);
    expect(svg.match(/>winner</g)).toHaveLength(1);
    expect(svg.match(/>finalist</g)).toHaveLength(1);
    expect(svg.match(/<image /g)).toHaveLength(5);
    // 4 px images grow x24 into the 96 px box
    expect(svg).toContain('width="96" height="96" href="data:image/png;base64,');
  });

  it('svgToPng: the bundled font, the same bytes every time, scale multiplies the size', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="30"><text x="4" y="20" font-family="Inter" font-size="14">ttsnap 0.5</text></svg>';
    const a = svgToPng(svg);
    expect(Buffer.from(svgToPng(svg)).equals(Buffer.from(a))).toBe(true);
    const r = decodePng(a);
    expect([r.width, r.height]).toEqual([120, 30]);
    const ink = Array.from({ length: r.width * r.height }, (_, i) => r.data[i * 4] as number).filter((v) => v < 128).length;
    expect(ink).toBeGreaterThan(50); // the text was drawn: a font was found without any system font
    const big = decodePng(svgToPng(svg, 2));
    expect([big.width, big.height]).toEqual([240, 60]);
  });

  it('grid: rows of scaled images, each row labelled', async () => {
    const svg = await gridSvg([[solid(1), solid(0)], [solid(-1)]], ['a red circle']);
    expect(svg.match(/<image /g)).toHaveLength(3);
    expect(svg).toContain('>a red circle<');
    expect(svg).toContain('>1<');
  });
});
