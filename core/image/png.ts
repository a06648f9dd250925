import { PNG } from 'pngjs';
import type { Raster } from './raster.js';

/** PNG bytes of an RGBA raster (pngjs, synchronous, no metadata so the bytes depend on the pixels alone). */
export function encodePng(r: Raster): Uint8Array {
  const png = new PNG({ width: r.width, height: r.height });
  png.data = Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
  return new Uint8Array(PNG.sync.write(png));
}

/** Decodes PNG bytes (used by tests and by anyone re-reading a contact sheet). */
export function decodePng(bytes: Uint8Array): Raster {
  const png = PNG.sync.read(Buffer.from(bytes));
  return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
}
