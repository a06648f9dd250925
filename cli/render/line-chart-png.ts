import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';

/** One line of a chart: y values at the panel's x values, drawn in an RGB colour. */
export interface ChartSeries {
  readonly ys: readonly number[];
  readonly rgb: readonly [number, number, number];
}

export interface ChartPanel {
  readonly xs: readonly number[];
  readonly series: readonly ChartSeries[];
}

const PANEL_W = 420;
const PANEL_H = 300;
const MARGIN = 36;
const COLUMNS = 3;

/**
 * Line charts as a PNG, one panel per trace in rows of three: white ground, a frame, light grid lines at
 * quarters, each series as a 2-pixel polyline, and the axis extremes in a small digit font. No text
 * labels: the command's table names the traces and series (panels follow the table's order).
 */
export function writeLineChartPng(file: string, panels: readonly ChartPanel[]): void {
  const cols = Math.min(COLUMNS, panels.length);
  const rows = Math.ceil(panels.length / COLUMNS);
  const png = new PNG({ width: cols * PANEL_W, height: rows * PANEL_H });
  png.data.fill(255);
  panels.forEach((panel, i) => drawPanel(png, panel, (i % COLUMNS) * PANEL_W, Math.floor(i / COLUMNS) * PANEL_H));
  writeFileSync(file, PNG.sync.write(png));
}

function drawPanel(png: PNG, panel: ChartPanel, ox: number, oy: number): void {
  const all = panel.series.flatMap((s) => s.ys);
  const [x0, x1] = [Math.min(...panel.xs), Math.max(...panel.xs)];
  let [y0, y1] = [Math.min(...all), Math.max(...all)];
  if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
  const left = ox + MARGIN + 24;
  const right = ox + PANEL_W - 12;
  const top = oy + 12;
  const bottom = oy + PANEL_H - MARGIN;
  const px = (x: number): number => left + ((x - x0) / (x1 - x0 || 1)) * (right - left);
  const py = (y: number): number => bottom - ((y - y0) / (y1 - y0)) * (bottom - top);
  for (let q = 1; q < 4; q++) {
    line(png, left, top + ((bottom - top) * q) / 4, right, top + ((bottom - top) * q) / 4, [225, 225, 225], 1);
    line(png, left + ((right - left) * q) / 4, top, left + ((right - left) * q) / 4, bottom, [225, 225, 225], 1);
  }
  for (const [ax, ay, bx, by] of [[left, top, right, top], [left, bottom, right, bottom], [left, top, left, bottom], [right, top, right, bottom]] as const) {
    line(png, ax, ay, bx, by, [90, 90, 90], 1);
  }
  for (const s of panel.series) {
    for (let i = 1; i < s.ys.length; i++) {
      line(png, px(panel.xs[i - 1] as number), py(s.ys[i - 1] as number), px(panel.xs[i] as number), py(s.ys[i] as number), s.rgb, 2);
    }
  }
  text(png, ox + 4, top, y1.toPrecision(4));
  text(png, ox + 4, bottom - 7, y0.toPrecision(4));
  text(png, left, bottom + 8, String(x0));
  const last = String(x1);
  text(png, right - last.length * 6, bottom + 8, last);
}

function plot(png: PNG, x: number, y: number, rgb: readonly [number, number, number]): void {
  const xi = Math.round(x);
  const yi = Math.round(y);
  if (xi < 0 || yi < 0 || xi >= png.width || yi >= png.height) return;
  const at = (yi * png.width + xi) * 4;
  png.data[at] = rgb[0];
  png.data[at + 1] = rgb[1];
  png.data[at + 2] = rgb[2];
  png.data[at + 3] = 255;
}

function line(png: PNG, ax: number, ay: number, bx: number, by: number, rgb: readonly [number, number, number], thick: number): void {
  const steps = Math.max(1, Math.ceil(Math.max(Math.abs(bx - ax), Math.abs(by - ay))));
  for (let i = 0; i <= steps; i++) {
    const x = ax + ((bx - ax) * i) / steps;
    const y = ay + ((by - ay) * i) / steps;
    for (let dx = 0; dx < thick; dx++) for (let dy = 0; dy < thick; dy++) plot(png, x + dx, y + dy, rgb);
  }
}

/** 5x7 glyphs for numbers, one string of 7 rows of 5 bits each. */
const GLYPHS: Record<string, readonly number[]> = {
  '0': [14, 17, 19, 21, 25, 17, 14],
  '1': [4, 12, 4, 4, 4, 4, 14],
  '2': [14, 17, 1, 2, 4, 8, 31],
  '3': [31, 2, 4, 2, 1, 17, 14],
  '4': [2, 6, 10, 18, 31, 2, 2],
  '5': [31, 16, 30, 1, 1, 17, 14],
  '6': [6, 8, 16, 30, 17, 17, 14],
  '7': [31, 1, 2, 4, 8, 8, 8],
  '8': [14, 17, 17, 14, 17, 17, 14],
  '9': [14, 17, 17, 15, 1, 2, 12],
  '.': [0, 0, 0, 0, 0, 12, 12],
  '-': [0, 0, 0, 31, 0, 0, 0],
  e: [0, 0, 14, 17, 31, 16, 14],
  '+': [0, 4, 4, 31, 4, 4, 0],
};

function text(png: PNG, x: number, y: number, s: string): void {
  [...s].forEach((ch, i) => {
    const rows = GLYPHS[ch];
    if (!rows) return;
    rows.forEach((bits, r) => {
      for (let c = 0; c < 5; c++) if (bits & (16 >> c)) plot(png, x + i * 6 + c, y + r, [40, 40, 40]);
    });
  });
}
