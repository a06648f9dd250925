import { gridSvg } from '../../core/image/grid.js';
import { svgToPng } from '../../core/image/svg-png.js';
import { tensorToRaster, type Raster } from '../../core/image/raster.js';
import { compileOnnxOptions, OnnxBackend } from '../backends/onnx.js';
import { InferenceHost } from './host.js';

export interface SampleGridOptions {
  readonly bundle: string;
  readonly prompts: readonly string[];
  readonly seeds: number;
  readonly seed: number;
  /** raw flag values, checked like the backend's */
  readonly guidance?: string;
  readonly steps?: string;
}

/** Denoises every (prompt, seed) to the last step through the onnx backend and tiles the final images. */
export async function sampleGrid(o: SampleGridOptions): Promise<Uint8Array> {
  const opts = compileOnnxOptions({ model: o.bundle, provider: 'auto', guidance: o.guidance, steps: o.steps });
  const backend = new OnnxBackend(await InferenceHost.start(opts));
  try {
    const { steps } = backend.info;
    const { height, width } = backend.host.info.image;
    const rows: Raster[][] = [];
    for (const [p, text] of o.prompts.entries()) {
      const specs = Array.from({ length: o.seeds }, (_, c) => ({ key: `sample/${p}/${c}`, prompt: p, text, candidate: c, seed: o.seed + c }));
      const keys = specs.map((s) => s.key);
      await backend.create(specs);
      for (let s = 0; s < steps; s++) await backend.advance(keys.map((key) => ({ key, toStep: s })));
      const img = await backend.images(keys);
      rows.push(keys.map((_, c) => tensorToRaster(img, c, height, width)));
      backend.release(keys);
    }
    return svgToPng(await gridSvg(rows));
  } finally {
    await backend.close();
  }
}
