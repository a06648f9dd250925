import { writeFileSync } from 'node:fs';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { svgToPng } from '../../../core/image/svg-png.js';

/** A chart drawn once: the SVG document (inlined in report.html) and its PNG (2x, for slides and READMEs). */
export interface RenderedChart {
  readonly svg: string;
  readonly png: Uint8Array;
}

/**
 * Renders a vega-lite spec headless: vega-lite compiles it, vega lays it out and writes SVG (no canvas, so
 * text is measured by vega's deterministic estimate), resvg rasterises it with the bundled font.
 */
export async function renderChart(spec: TopLevelSpec): Promise<RenderedChart> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return { svg, png: svgToPng(svg, 2) };
  } finally {
    view.finalize();
  }
}

/** Renders and writes `<base>.svg` and `<base>.png` (a trailing .png or .svg on base is dropped); returns both paths. */
export async function writeChart(base: string, spec: TopLevelSpec): Promise<string[]> {
  const stem = base.replace(/\.(png|svg)$/i, '');
  const { svg, png } = await renderChart(spec);
  writeFileSync(`${stem}.svg`, svg);
  writeFileSync(`${stem}.png`, png);
  return [`${stem}.svg`, `${stem}.png`];
}
