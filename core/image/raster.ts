/** An RGBA raster, 8 bits per channel, row-major: the common currency of the image helpers. */
export interface Raster {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export function blankRaster(width: number, height: number, rgb: readonly [number, number, number] = [255, 255, 255]): Raster {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  return { width, height, data };
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

/** Nearest-neighbour upscale by an integer factor (tiny images stay crisp on a contact sheet). */
export function upscale(r: Raster, factor: number): Raster {
  if (factor === 1) return r;
  const w = r.width * factor;
  const h = r.height * factor;
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (Math.floor(y / factor) * r.width + Math.floor(x / factor)) * 4;
      data.set(r.data.subarray(s, s + 4), (y * w + x) * 4);
    }
  }
  return { width: w, height: h, data };
}

/** Copies `src` into `dst` with its top-left corner at (x, y), clipped to dst. */
export function blit(dst: Raster, src: Raster, x: number, y: number): void {
  for (let j = 0; j < src.height; j++) {
    const dy = y + j;
    if (dy < 0 || dy >= dst.height) continue;
    for (let i = 0; i < src.width; i++) {
      const dx = x + i;
      if (dx < 0 || dx >= dst.width) continue;
      const s = (j * src.width + i) * 4;
      dst.data.set(src.data.subarray(s, s + 4), (dy * dst.width + dx) * 4);
    }
  }
}

/** Fills a rectangle (clipped). */
export function fillRect(dst: Raster, x: number, y: number, w: number, h: number, rgb: readonly [number, number, number]): void {
  for (let j = Math.max(0, y); j < Math.min(dst.height, y + h); j++) {
    for (let i = Math.max(0, x); i < Math.min(dst.width, x + w); i++) dst.data.set([rgb[0], rgb[1], rgb[2], 255], (j * dst.width + i) * 4);
  }
}

/** A frame `thickness` pixels wide just inside the rectangle. */
export function frameRect(dst: Raster, x: number, y: number, w: number, h: number, thickness: number, rgb: readonly [number, number, number]): void {
  fillRect(dst, x, y, w, thickness, rgb);
  fillRect(dst, x, y + h - thickness, w, thickness, rgb);
  fillRect(dst, x, y, thickness, h, rgb);
  fillRect(dst, x + w - thickness, y, thickness, h, rgb);
}

/** Darkens a rectangle and crosses it out: how a pruned candidate looks on the contact sheet. */
export function markPruned(dst: Raster, x: number, y: number, w: number, h: number, rgb: readonly [number, number, number]): void {
  for (let j = y; j < y + h; j++) {
    for (let i = x; i < x + w; i++) {
      const o = (j * dst.width + i) * 4;
      for (let c = 0; c < 3; c++) dst.data[o + c] = Math.round((dst.data[o + c] as number) * 0.35);
    }
  }
  const n = Math.min(w, h);
  for (let k = 0; k < n; k++) {
    for (const [px, py] of [
      [x + k, y + k],
      [x + n - 1 - k, y + k],
    ] as const) {
      fillRect(dst, px, py, 1, 1, rgb);
      fillRect(dst, px + 1, py, 1, 1, rgb);
    }
  }
}

/**
 * A straight line from (ax, ay) to (bx, by) in fractional pixels, `thickness` px wide (a square pen, clipped):
 * one pen stamp per pixel step along the longer axis, which is all a chart's polylines and grid lines need.
 */
export function drawLine(dst: Raster, ax: number, ay: number, bx: number, by: number, rgb: readonly [number, number, number], thickness = 1): void {
  const steps = Math.max(1, Math.ceil(Math.max(Math.abs(bx - ax), Math.abs(by - ay))));
  for (let i = 0; i <= steps; i++) {
    const x = Math.round(ax + ((bx - ax) * i) / steps);
    const y = Math.round(ay + ((by - ay) * i) / steps);
    fillRect(dst, x, y, thickness, thickness, rgb);
  }
}

/** The raster turned a quarter turn anticlockwise (how a vertical axis title is drawn: text, then rotated). */
export function rotateLeft(r: Raster): Raster {
  const data = new Uint8Array(r.data.length);
  for (let y = 0; y < r.height; y++) {
    for (let x = 0; x < r.width; x++) {
      const s = (y * r.width + x) * 4;
      data.set(r.data.subarray(s, s + 4), ((r.width - 1 - x) * r.height + y) * 4);
    }
  }
  return { width: r.height, height: r.width, data };
}
