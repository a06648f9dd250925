import type { PreprocessSpec } from './manifest.js';

/**
 * Reward preprocessing as CLIP/BLIP image processors do it, on decoder outputs [B, 3, H, W] in [-1, 1]:
 * map to [0, 1] (clamped), resize the shorter side to `resize` with PIL's antialiased convolution
 * (bicubic a = -0.5 or bilinear, the filter widened by the downscale factor; torch's antialias=True is the
 * same algorithm), clamp to [0, 1] as PIL's uint8 result is, centre-crop `crop` x `crop` (offsets floored as
 * transformers' center_crop), then (x - mean) / std per channel. The processors' uint8 rounding is not
 * reproduced: scores see the decoder's full precision.
 */
export function preprocessImages(images: Float32Array, batch: number, height: number, width: number, p: PreprocessSpec): Float32Array {
  const [rh, rw] = height <= width ? [p.resize, Math.floor((p.resize * width) / height)] : [Math.floor((p.resize * height) / width), p.resize];
  if (rh < p.crop || rw < p.crop) throw new RangeError(`resize ${p.resize} of a ${height}x${width} image is smaller than the crop ${p.crop}`);
  const top = Math.floor((rh - p.crop) / 2);
  const left = Math.floor((rw - p.crop) / 2);
  const filter = p.resample === 'bicubic' ? BICUBIC : BILINEAR;
  const cols = weights(width, rw, filter);
  const rowsW = weights(height, rh, filter);
  const out = new Float32Array(batch * 3 * p.crop * p.crop);
  const plane = new Float32Array(height * width);
  const horiz = new Float32Array(height * rw);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < 3; c++) {
      const src = (b * 3 + c) * height * width;
      for (let i = 0; i < plane.length; i++) plane[i] = Math.min(1, Math.max(0, ((images[src + i] as number) + 1) / 2));
      for (let y = 0; y < height; y++) for (let x = 0; x < rw; x++) horiz[y * rw + x] = apply(cols[x] as Taps, (k) => plane[y * width + k] as number);
      const dst = (b * 3 + c) * p.crop * p.crop;
      const mean = p.mean[c] as number;
      const std = p.std[c] as number;
      for (let y = 0; y < p.crop; y++) {
        for (let x = 0; x < p.crop; x++) {
          const v = apply(rowsW[y + top] as Taps, (k) => horiz[k * rw + x + left] as number);
          out[dst + y * p.crop + x] = (Math.min(1, Math.max(0, v)) - mean) / std;
        }
      }
    }
  }
  return out;
}

interface Filter {
  readonly support: number;
  at(x: number): number;
}

const BICUBIC: Filter = {
  support: 2,
  at(x) {
    const a = -0.5;
    const t = Math.abs(x);
    if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
    return 0;
  },
};

const BILINEAR: Filter = { support: 1, at: (x) => Math.max(0, 1 - Math.abs(x)) };

interface Taps {
  readonly first: number;
  readonly w: Float64Array;
}

/** PIL's precompute_coeffs: for each output pixel, the first input index and normalised weights. */
function weights(inSize: number, outSize: number, f: Filter): Taps[] {
  const scale = inSize / outSize;
  const fs = Math.max(scale, 1);
  const support = f.support * fs;
  return Array.from({ length: outSize }, (_, i) => {
    const center = (i + 0.5) * scale;
    const first = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - first;
    const w = Float64Array.from({ length: n }, (_, k) => f.at((k + first - center + 0.5) / fs));
    const total = w.reduce((s, v) => s + v, 0);
    return { first, w: total === 0 ? w : w.map((v) => v / total) };
  });
}

function apply(t: Taps, at: (k: number) => number): number {
  let s = 0;
  for (let k = 0; k < t.w.length; k++) s += (t.w[k] as number) * at(t.first + k);
  return s;
}
