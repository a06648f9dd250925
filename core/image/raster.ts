/** An RGBA raster, 8 bits per channel, row-major: the common currency of the image helpers. */
export interface Raster {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/**
 * Image `index` of a batch [B, 3, H, W] of decoder outputs in [-1, 1] as a raster: (x + 1) / 2, clamped,
 * times 255, rounded (as diffusers' image processor does).
 */
export function tensorToRaster(images: Float32Array, index: number, height: number, width: number): Raster {
  const plane = height * width;
  const base = index * 3 * plane;
  if (base + 3 * plane > images.length) throw new RangeError(`image ${index} is outside a batch of ${Math.floor(images.length / (3 * plane))}`);
  const data = new Uint8Array(plane * 4);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const v = ((images[base + c * plane + p] as number) + 1) / 2;
      data[p * 4 + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
    data[p * 4 + 3] = 255;
  }
  return { width, height, data };
}
