import { drawText, GLYPH_HEIGHT, textWidth } from './font.js';
import { blankRaster, blit, frameRect, markPruned, upscale, type Raster } from './raster.js';

/** One prune point (or the final step): the Tweedie estimate of every candidate alive there, and who was dropped. */
export interface SheetStage {
  /** 0-based sampling step */
  readonly step: number;
  /** candidate index -> image of its Tweedie estimate at this step (final sample at the last step) */
  readonly images: ReadonlyMap<number, Raster>;
  /** candidates dropped at this stage */
  readonly pruned: ReadonlySet<number>;
}

export interface SheetInput {
  /** candidate indices, one column each, in this order */
  readonly candidates: readonly number[];
  /** one row each, in step order; the last is the final step */
  readonly stages: readonly SheetStage[];
  readonly winner: number;
}

const BG: [number, number, number] = [32, 32, 36];
const INK: [number, number, number] = [220, 220, 220];
const PRUNE: [number, number, number] = [230, 60, 60];
const WIN: [number, number, number] = [250, 200, 40];

/**
 * The contact sheet: one row per prune point and one for the final step (labelled with the step index),
 * one column per candidate (labelled with its index). A candidate's cell shows its Tweedie estimate while
 * it is alive; at the stage that drops it the cell is darkened and crossed in red; after that the cell is
 * empty. The winner's final cell has a yellow frame. Images are upscaled to at least 64 px.
 */
export function drawContactSheet(input: SheetInput): Raster {
  const first = input.stages.flatMap((s) => [...s.images.values()])[0];
  const iw = first?.width ?? 32;
  const ih = first?.height ?? 32;
  const factor = Math.max(1, Math.ceil(64 / Math.max(iw, ih)));
  const pad = 4;
  const font = 2;
  const labelW = textWidth('00', font) + 2 * pad + 8;
  const labelH = GLYPH_HEIGHT * font + 2 * pad;
  const cw = iw * factor + 2 * pad;
  const ch = ih * factor + 2 * pad;
  const sheet = blankRaster(labelW + cw * input.candidates.length, labelH + ch * input.stages.length, BG);
  input.candidates.forEach((c, col) => drawText(sheet, String(c), labelW + col * cw + pad, pad, font, c === input.winner ? WIN : INK));
  input.stages.forEach((stage, row) => {
    const y = labelH + row * ch;
    drawText(sheet, String(stage.step), pad, y + pad, font, INK);
    const last = row === input.stages.length - 1;
    input.candidates.forEach((c, col) => {
      const img = stage.images.get(c);
      if (!img) return;
      const x = labelW + col * cw;
      blit(sheet, upscale(img, factor), x + pad, y + pad);
      if (stage.pruned.has(c)) markPruned(sheet, x + pad, y + pad, iw * factor, ih * factor, PRUNE);
      if (last && c === input.winner) frameRect(sheet, x + 1, y + 1, cw - 2, ch - 2, 3, WIN);
    });
  });
  return sheet;
}
