import type { PreprocessSpec } from './manifest.js';

/**
 * Reward preprocessing declared in the manifest, on a batch of decoder outputs [B, 3, H, W] in [-1, 1]:
 * map to [0, 1] (clamped), resize the shorter side to `resize` (bilinear, half-pixel centres as
 * torchvision without antialias), centre-crop `crop` x `crop`, then (x - mean) / std per channel.
 */
export function preprocessImages(images: Float32Array, batch: number, height: number, width: number, p: PreprocessSpec): Float32Array {
  const scale = p.resize / Math.min(height, width);
  const rh = Math.max(p.crop, Math.round(height * scale));
  const rw = Math.max(p.crop, Math.round(width * scale));
  const top = Math.floor((rh - p.crop) / 2);
  const left = Math.floor((rw - p.crop) / 2);
  const out = new Float32Array(batch * 3 * p.crop * p.crop);
  const sy = height / rh;
  const sx = width / rw;
  const identity = rh === height && rw === width;
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < 3; c++) {
      const src = (b * 3 + c) * height * width;
      const dst = (b * 3 + c) * p.crop * p.crop;
      const mean = p.mean[c] as number;
      const std = p.std[c] as number;
      for (let y = 0; y < p.crop; y++) {
        for (let x = 0; x < p.crop; x++) {
          const v = identity ? (images[src + (y + top) * width + x + left] as number) : bilinear(images, src, height, width, (y + top + 0.5) * sy - 0.5, (x + left + 0.5) * sx - 0.5);
          const v01 = Math.min(1, Math.max(0, (v + 1) / 2));
          out[dst + y * p.crop + x] = (v01 - mean) / std;
        }
      }
    }
  }
  return out;
}

function bilinear(img: Float32Array, base: number, h: number, w: number, fy: number, fx: number): number {
  const y = Math.min(Math.max(fy, 0), h - 1);
  const x = Math.min(Math.max(fx, 0), w - 1);
  const y0 = Math.floor(y);
  const x0 = Math.floor(x);
  const y1 = Math.min(y0 + 1, h - 1);
  const x1 = Math.min(x0 + 1, w - 1);
  const dy = y - y0;
  const dx = x - x0;
  const at = (yy: number, xx: number): number => img[base + yy * w + xx] as number;
  return (at(y0, x0) * (1 - dx) + at(y0, x1) * dx) * (1 - dy) + (at(y1, x0) * (1 - dx) + at(y1, x1) * dx) * dy;
}
