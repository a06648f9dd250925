import { createRequire } from 'node:module';
import { Resvg } from '@resvg/resvg-js';

const require = createRequire(import.meta.url);

/**
 * The one font every picture is drawn with: Inter, from an npm package pinned by the lockfile, so a PNG
 * depends on its SVG alone and not on the fonts of the machine that drew it (system fonts are never loaded).
 */
export const FONT_FAMILY = 'Inter';
/** What pictures ask for: Inter where it is (resvg here), else the viewer's sans-serif (a browser). */
export const FONT_STACK = `${FONT_FAMILY}, Helvetica, Arial, sans-serif`;
const FONT_FILES = ['400Regular/Inter_400Regular.ttf', '700Bold/Inter_700Bold.ttf'].map((f) => require.resolve(`@expo-google-fonts/inter/${f}`));

/**
 * Rasterises an SVG document with resvg at `scale` times its size (2 for crisp text on high-density
 * screens). Deterministic: the same SVG gives the same bytes.
 */
export function svgToPng(svg: string, scale = 1): Uint8Array {
  const r = new Resvg(svg, {
    font: { fontFiles: FONT_FILES, loadSystemFonts: false, defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
    fitTo: scale === 1 ? { mode: 'original' } : { mode: 'zoom', value: scale },
    background: 'white',
  });
  return new Uint8Array(r.render().asPng());
}
