import type { Raster } from './raster.js';
import { FONT_STACK } from './svg-png.js';
import { el, pngDataUri, text } from './svg.js';
import { thumbnail, type Thumbnail } from './thumbnail.js';

/** One prune point (or the final step): what every candidate alive there showed, and who was dropped. */
export interface SheetStage {
  /** 0-based sampling step */
  readonly step: number;
  /** candidate index -> image of its Tweedie estimate at this step (final sample at the last step) */
  readonly images: ReadonlyMap<number, Raster>;
  /** candidate index -> its score at this step (the first reward; noise-aware at prune points) */
  readonly scores: ReadonlyMap<number, number>;
  /** candidates alive at this step (scored here) */
  readonly alive: readonly number[];
  /** candidates dropped at this stage */
  readonly pruned: ReadonlySet<number>;
}

export interface SheetInput {
  /** the prompt's text (or a label such as "trace prompt 12") */
  readonly prompt: string;
  /** name of the score shown under each thumbnail */
  readonly reward: string;
  /** candidate indices, one column each, in this order */
  readonly candidates: readonly number[];
  /** one row each, in step order; the last is the final step */
  readonly stages: readonly SheetStage[];
  readonly winner: number;
}

/** Thumbnail box in px: tiny images are enlarged to it by whole factors, big ones shrunk into it. */
export const SHEET_THUMB = 96;

const INK = '#222';
const MUTED = '#777';
const PRUNED = '#d33';
const KEPT = '#1a8f3c';
const WINNER = '#e0a000';
const PAD = 6;
const LINE = 15;
const HEADER = 54;
const LABEL_W = 112;

/**
 * The contact sheet as an SVG document that explains itself: the prompt on top; one row per prune point and
 * one for the final step (labelled with the step and how many were scored and kept); one column per
 * candidate. Each cell shows the candidate's image at that step, its score, and what happened to it: kept,
 * pruned (dimmed and crossed in red) or, on the last row, the winner (gold frame). After a candidate is pruned
 * its cells stay empty. Thumbnails are embedded as PNG (see thumbnail()), so the file stands alone.
 */
export async function contactSheetSvg(input: SheetInput, thumb = SHEET_THUMB): Promise<string> {
  const thumbs = new Map<string, Thumbnail>();
  for (const s of input.stages) for (const [c, img] of s.images) thumbs.set(`${s.step}/${c}`, await thumbnail(img, thumb));
  const any = [...thumbs.values()][0];
  const tw = any?.width ?? thumb;
  const th = any?.height ?? Math.round(thumb / 2);
  const cw = Math.max(tw, 64) + 2 * PAD;
  const ch = th + 2 * PAD + 2 * LINE;
  const width = LABEL_W + cw * input.candidates.length + PAD;
  const height = HEADER + ch * input.stages.length + PAD;
  const prompt = input.prompt.length > 140 ? `${input.prompt.slice(0, 139)}…` : input.prompt;
  const steps = input.stages.slice(0, -1).map((s) => s.step);
  const parts: string[] = [
    el('rect', { width, height, fill: 'white' }),
    text(PAD, 20, prompt, { 'font-size': 15, 'font-weight': 700, fill: INK }),
    text(PAD, 40, `${input.candidates.length} candidates; ${steps.length ? `pruned at steps ${steps.join(', ')}` : 'no pruning'}; winner #${input.winner}; scores: ${input.reward}`, { 'font-size': 12, fill: MUTED }),
  ];
  input.stages.forEach((stage, row) => {
    const y = HEADER + row * ch;
    const last = row === input.stages.length - 1;
    const kept = stage.alive.length - stage.pruned.size;
    parts.push(text(PAD, y + PAD + 14, last ? `final, step ${stage.step}` : `step ${stage.step}`, { 'font-size': 13, 'font-weight': 700, fill: INK }));
    parts.push(text(PAD, y + PAD + 14 + LINE, `${stage.alive.length} scored`, { 'font-size': 11, fill: MUTED }));
    if (!last) parts.push(text(PAD, y + PAD + 14 + 2 * LINE, `${kept} kept`, { 'font-size': 11, fill: MUTED }));
    const alive = new Set(stage.alive);
    input.candidates.forEach((c, col) => {
      if (!alive.has(c)) return;
      const box = { x: LABEL_W + col * cw, y, w: cw, tw, th };
      parts.push(cell(input, stage, c, box, thumbs.get(`${stage.step}/${c}`), last));
    });
  });
  return el('svg', { xmlns: 'http://www.w3.org/2000/svg', width, height, viewBox: `0 0 ${width} ${height}`, 'font-family': FONT_STACK }, ...parts);
}

/** A cell's place: its left and top, its width, and the thumbnail's size inside it. */
interface CellBox {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly tw: number;
  readonly th: number;
}

/** One candidate at one stage: its picture (or a grey box), marks for pruned or winner, index, score and fate. */
function cell(input: SheetInput, stage: SheetStage, c: number, { x, y, w: cw, tw, th }: CellBox, t: Thumbnail | undefined, last: boolean): string {
  const ix = x + PAD + (cw - 2 * PAD - tw) / 2;
  const iy = y + PAD;
  const out: string[] = [];
  out.push(t ? el('image', { x: ix, y: iy, width: t.width, height: t.height, href: pngDataUri(t.png), 'image-rendering': 'optimizeSpeed' }) : el('rect', { x: ix, y: iy, width: tw, height: th, fill: '#eee' }));
  const pruned = stage.pruned.has(c);
  const won = last && c === input.winner;
  if (pruned) {
    out.push(el('rect', { x: ix, y: iy, width: tw, height: th, fill: 'black', 'fill-opacity': 0.55 }));
    out.push(el('path', { d: `M${ix},${iy}L${ix + tw},${iy + th}M${ix + tw},${iy}L${ix},${iy + th}`, stroke: PRUNED, 'stroke-width': 2.5 }));
  }
  if (won) out.push(el('rect', { x: ix - 3, y: iy - 3, width: tw + 6, height: th + 6, fill: 'none', stroke: WINNER, 'stroke-width': 4 }));
  const score = stage.scores.get(c);
  const ty = iy + th + LINE - 2;
  out.push(text(x + PAD, ty, `#${c}`, { 'font-size': 11, fill: MUTED }));
  if (score !== undefined) out.push(text(x + cw - PAD, ty, score.toPrecision(4), { 'font-size': 11, fill: INK, 'text-anchor': 'end' }));
  const fate = won ? ['winner', WINNER] : pruned ? ['pruned', PRUNED] : last ? ['finalist', MUTED] : ['kept', KEPT];
  out.push(text(x + cw / 2, ty + LINE, fate[0] as string, { 'font-size': 11, 'font-weight': 700, fill: fate[1], 'text-anchor': 'middle' }));
  return out.join('');
}
