/** IEEE 754 half-precision conversions (Node 20 has no Float16Array; onnxruntime takes float16 as Uint16Array bits). */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> float16 bits, round to nearest even, with overflow to infinity and subnormals. */
export function toHalf(x: number): number {
  f32[0] = x;
  return halfBits(u32[0] as number);
}

/** float16 bits of the float32 whose bits are `b`. */
function halfBits(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // a carry out of the mantissa correctly bumps the exponent (up to infinity)
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** float16 bits -> number. */
export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** float32 -> float16 bits over the source's own bits (no number round trip per element). */
export function toHalfArray(src: Float32Array): Uint16Array {
  conversions.toHalf += src.length;
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfBits(bits[i] as number);
  return out;
}

let table: Float32Array | null = null;

/** float16 bits -> float32 through a table of all 65536 values (256 KiB, built on first use). */
export function fromHalfArray(src: Uint16Array): Float32Array {
  conversions.fromHalf += src.length;
  if (!table) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = fromHalf(h);
  }
  const t = table;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = t[src[i] as number] as number;
  return out;
}

/** A float tensor's data as onnxruntime takes it: float32, or float16 as its bits. */
export type FloatData = Float32Array | Uint16Array;
export type FloatType = 'float32' | 'float16';

/** Elements converted so far, each way (what bench:worker and the fp16 tests count per call). */
export const conversions = { toHalf: 0, fromHalf: 0 };

export function floatType(data: FloatData): FloatType {
  return data instanceof Uint16Array ? 'float16' : 'float32';
}

/** `data` in `type`: the same array when it already is, else converted (counted). */
export function asFloatType(data: FloatData, type: FloatType): FloatData {
  if (floatType(data) === type) return data;
  return type === 'float16' ? toHalfArray(data as Float32Array) : fromHalfArray(data as Uint16Array);
}

/** Zeros of `n` elements in the type of `like` (0 is 0x0000 in float16 too). */
export function zerosLike(like: FloatData, n: number): FloatData {
  return like instanceof Uint16Array ? new Uint16Array(n) : new Float32Array(n);
}
