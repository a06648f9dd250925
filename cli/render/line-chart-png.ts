import { writeFileSync } from 'node:fs';
import { drawText, GLYPH_HEIGHT, LINE_HEIGHT, textWidth } from '../../core/image/font.js';
import { encodePng } from '../../core/image/png.js';
import { blankRaster, blit, drawLine, fillRect, frameRect, rotateLeft, type Raster } from '../../core/image/raster.js';
import { niceTicks, tickLabel } from './ticks.js';

type Rgb = readonly [number, number, number];

/** One line of a chart: y values at the panel's x values, drawn in an RGB colour and named in the legend. */
export interface ChartSeries {
  readonly name: string;
  readonly ys: readonly number[];
  readonly rgb: Rgb;
}

/** One panel: a title (e.g. the trace's name) and its series over shared x values. */
export interface ChartPanel {
  readonly title: string;
  readonly xs: readonly number[];
  readonly series: readonly ChartSeries[];
}

/** Axis titles, the same on every panel. */
export interface ChartAxes {
  readonly x: string;
  readonly y: string;
}

const PANEL_W = 480;
const PANEL_H = 360;
const COLUMNS = 3;
const S = 2; // font scale: the 3x5 font drawn 6x10
const TITLE_S = 3;
const LINE = LINE_HEIGHT * S;
const INK: Rgb = [40, 40, 40];
const GRID: Rgb = [228, 228, 228];
const WHITE: Rgb = [255, 255, 255];

/** Line charts as a PNG, one panel per trace in rows of three (see drawLineChart). */
export function writeLineChartPng(file: string, panels: readonly ChartPanel[], axes: ChartAxes): void {
  writeFileSync(file, encodePng(drawLineChart(panels, axes)));
}

/**
 * One 480x360 panel per entry, in rows of three: the title at the top, a legend (a colour swatch and name per
 * series), a framed plot with light grid lines at the ticks of both axes (the y range widened to whole ticks),
 * each series as a 2-pixel polyline in its order (later ones on top), tick values, and both axis titles.
 */
export function drawLineChart(panels: readonly ChartPanel[], axes: ChartAxes): Raster {
  const cols = Math.min(COLUMNS, panels.length);
  const rows = Math.ceil(panels.length / COLUMNS);
  const out = blankRaster(Math.max(1, cols) * PANEL_W, Math.max(1, rows) * PANEL_H, WHITE);
  panels.forEach((panel, i) => drawPanel(out, panel, axes, (i % COLUMNS) * PANEL_W, Math.floor(i / COLUMNS) * PANEL_H));
  return out;
}

function drawPanel(out: Raster, panel: ChartPanel, axes: ChartAxes, ox: number, oy: number): void {
  const xr = niceTicks(Math.min(...panel.xs), Math.max(...panel.xs), 5, false);
  const yr = niceTicks(Math.min(...panel.series.flatMap((s) => s.ys)), Math.max(...panel.series.flatMap((s) => s.ys)), 5, true);
  const yLabels = yr.ticks.map((t) => tickLabel(t, yr.step));
  const legendY = oy + 8 + LINE_HEIGHT * TITLE_S + 6;
  const top = legendY + LINE + 12;
  const bottom = oy + PANEL_H - 2 * LINE - 16;
  const left = ox + 8 + LINE + 8 + Math.max(...yLabels.map((l) => textWidth(l, S))) + 6;
  const right = ox + PANEL_W - 20;
  const px = (x: number): number => left + ((x - xr.lo) / (xr.hi - xr.lo)) * (right - left);
  const py = (y: number): number => bottom - ((y - yr.lo) / (yr.hi - yr.lo)) * (bottom - top);

  drawText(out, panel.title, Math.round(ox + PANEL_W / 2 - textWidth(panel.title, TITLE_S) / 2), oy + 8, TITLE_S, INK);
  drawLegend(out, panel.series, ox + PANEL_W / 2, legendY);

  xr.ticks.forEach((t) => {
    drawLine(out, px(t), top, px(t), bottom, GRID);
    drawCentred(out, tickLabel(t, xr.step), px(t), bottom + 6, INK);
  });
  yr.ticks.forEach((t, k) => {
    drawLine(out, left, py(t), right, py(t), GRID);
    const label = yLabels[k] as string;
    drawText(out, label, left - 6 - textWidth(label, S), Math.round(py(t) - (GLYPH_HEIGHT * S) / 2), S, INK);
  });
  frameRect(out, left, top, right - left + 1, bottom - top + 1, 1, [90, 90, 90]);
  for (const s of panel.series) {
    for (let i = 1; i < s.ys.length; i++) {
      drawLine(out, px(panel.xs[i - 1] as number), py(s.ys[i - 1] as number), px(panel.xs[i] as number), py(s.ys[i] as number), s.rgb, 2);
    }
  }
  drawCentred(out, axes.x, (left + right) / 2, bottom + 6 + LINE + 4, INK);
  // the y title is drawn on its own strip and turned a quarter turn, to read bottom to top beside the axis
  const strip = blankRaster(textWidth(axes.y, S), LINE, WHITE);
  drawText(strip, axes.y, 0, 0, S, INK);
  const turned = rotateLeft(strip);
  blit(out, turned, ox + 8, Math.round((top + bottom) / 2 - turned.height / 2));
}

/** One row of legend entries (swatch, gap, name), centred on cx. */
function drawLegend(out: Raster, series: readonly ChartSeries[], cx: number, y: number): void {
  const swatch = 16;
  const entry = (s: ChartSeries): number => swatch + 6 + textWidth(s.name, S);
  const gap = 20;
  let x = Math.round(cx - (series.reduce((w, s) => w + entry(s), 0) + gap * Math.max(0, series.length - 1)) / 2);
  for (const s of series) {
    fillRect(out, x, y + (GLYPH_HEIGHT * S) / 2 - 1, swatch, 3, s.rgb);
    drawText(out, s.name, x + swatch + 6, y, S, INK);
    x += entry(s) + gap;
  }
}

function drawCentred(out: Raster, text: string, cx: number, y: number, rgb: Rgb): void {
  drawText(out, text, Math.round(cx - textWidth(text, S) / 2), y, S, rgb);
}
