import type { Raster } from './raster.js';
import { FONT_STACK } from './svg-png.js';
import { el, pngDataUri, text } from './svg.js';
import { thumbnail } from './thumbnail.js';

/**
 * A grid of images as SVG: rows[r][c], each scaled into a `size` px box (see thumbnail()), 6 px apart,
 * each row labelled on its left with `labels[r]` (its index when absent).
 */
export async function gridSvg(rows: readonly (readonly Raster[])[], labels: readonly string[] = [], size = 96): Promise<string> {
  const gap = 6;
  const labelW = 28;
  const cols = Math.max(0, ...rows.map((r) => r.length));
  const parts: string[] = [];
  let y = gap;
  let cellW = size;
  for (const [r, row] of rows.entries()) {
    let rowH = 0;
    let x = labelW;
    for (const img of row) {
      const t = await thumbnail(img, size);
      parts.push(el('image', { x, y, width: t.width, height: t.height, href: pngDataUri(t.png), 'image-rendering': 'optimizeSpeed' }));
      x += t.width + gap;
      cellW = t.width;
      rowH = Math.max(rowH, t.height);
    }
    parts.push(text(gap, y + 16, labels[r] ?? String(r), { 'font-size': 13, fill: '#ddd' }));
    y += rowH + gap;
  }
  const width = labelW + cols * (cellW + gap);
  return el('svg', { xmlns: 'http://www.w3.org/2000/svg', width, height: y, viewBox: `0 0 ${width} ${y}`, 'font-family': FONT_STACK }, el('rect', { width, height: y, fill: '#202024' }), ...parts);
}
