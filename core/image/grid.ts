import { drawText, textWidth } from './font.js';
import { blankRaster, blit, upscale, type Raster } from './raster.js';

/**
 * A grid of images: rows[r][c], each upscaled to at least 64 px, 4 px apart, rows labelled with their index
 * (the caller prints the legend). Missing cells stay background.
 */
export function drawGrid(rows: readonly (readonly Raster[])[]): Raster {
  const first = rows.flat()[0];
  const iw = first?.width ?? 32;
  const ih = first?.height ?? 32;
  const factor = Math.max(1, Math.ceil(64 / Math.max(iw, ih)));
  const pad = 4;
  const font = 2;
  const labelW = textWidth(String(Math.max(0, rows.length - 1)), font) + 2 * pad;
  const cols = Math.max(0, ...rows.map((r) => r.length));
  const cw = iw * factor + pad;
  const ch = ih * factor + pad;
  const out = blankRaster(labelW + cols * cw + pad, rows.length * ch + pad, [32, 32, 36]);
  rows.forEach((row, r) => {
    drawText(out, String(r), pad, pad + r * ch, font, [220, 220, 220]);
    row.forEach((img, c) => blit(out, upscale(img, factor), labelW + pad + c * cw, pad + r * ch));
  });
  return out;
}
