import sharp from 'sharp';
import type { Raster } from './raster.js';

/** A PNG thumbnail and its size in pixels. */
export interface Thumbnail {
  readonly png: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/**
 * `r` scaled to fit a `size` x `size` box: a big image is shrunk with a Lanczos filter (sharp), a tiny one is
 * enlarged by the largest whole factor that fits with nearest-neighbour pixels, so a 32 px sample stays a
 * sharp 32 px sample instead of a blur. The aspect ratio is kept; an image that already fits at factor 1 is
 * re-encoded unchanged, and so is any image that fits when `enlarge` is false (a browser scales it up itself).
 */
export async function thumbnail(r: Raster, size: number, enlarge = true): Promise<Thumbnail> {
  const longest = Math.max(r.width, r.height);
  const factor = longest > size ? size / longest : enlarge ? Math.max(1, Math.floor(size / longest)) : 1;
  const width = Math.max(1, Math.round(r.width * factor));
  const height = Math.max(1, Math.round(r.height * factor));
  let img = sharp(Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength), { raw: { width: r.width, height: r.height, channels: 4 } });
  if (factor !== 1) img = img.resize(width, height, { kernel: factor > 1 ? 'nearest' : 'lanczos3', fit: 'fill' });
  const png = await img.png({ compressionLevel: 9 }).toBuffer();
  return { png: new Uint8Array(png), width, height };
}
