/**
 * Noise as a pure function of (seed, stream, shape): element j of a candidate's latent is a standard normal
 * drawn from Philox4x32-10 (Salmon et al., SC'11; the counter-based generator of Random123, cuRAND and JAX)
 * with key = (seed mod 2^32, floor(seed / 2^32)) and counter = (floor(j / 4), stream, 0, 0), taking lane j mod 4.
 * Stream 0 is the initial noise; stream i + 1 is the fresh noise an ancestral sampler adds at step i.
 * Lanes (0,1) and (2,3) of each block are Box-Muller pairs: u = (k + 0.5) / 2^32,
 * z0 = sqrt(-2 ln u0) cos(2 pi u1), z1 = sqrt(-2 ln u0) sin(2 pi u1), rounded to float32.
 * Nothing depends on the batch, the process or the machine (V8's Math.log/cos/sin are fdlibm ports,
 * identical on every platform), so a candidate's noise is the same on every worker and in every batch.
 */
export function initialNoise(seed: number, length: number, out = new Float32Array(length)): Float32Array {
  return gaussian(seed, 0, length, out);
}

/** The noise an ancestral sampler adds at step index `step` (stream step + 1): a pure function of (seed, step, length). */
export function stepNoise(seed: number, step: number, length: number, out = new Float32Array(length)): Float32Array {
  if (!Number.isInteger(step) || step < 0 || step >= 0xffff_ffff) throw new RangeError(`step ${step} must be an integer in [0, 2^32 - 1)`);
  return gaussian(seed, step + 1, length, out);
}

function gaussian(seed: number, stream: number, length: number, out: Float32Array): Float32Array {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed ${seed} must be an integer in [0, 2^53)`);
  const k0 = seed % 0x1_0000_0000;
  const k1 = Math.floor(seed / 0x1_0000_0000);
  const block = new Uint32Array(4);
  for (let j = 0; j < length; j += 4) {
    philox4x32(j / 4, stream, 0, 0, k0, k1, block);
    const r0 = Math.sqrt(-2 * Math.log(((block[0] as number) + 0.5) / 4294967296));
    const a0 = 2 * Math.PI * (((block[1] as number) + 0.5) / 4294967296);
    const r1 = Math.sqrt(-2 * Math.log(((block[2] as number) + 0.5) / 4294967296));
    const a1 = 2 * Math.PI * (((block[3] as number) + 0.5) / 4294967296);
    out[j] = r0 * Math.cos(a0);
    if (j + 1 < length) out[j + 1] = r0 * Math.sin(a0);
    if (j + 2 < length) out[j + 2] = r1 * Math.cos(a1);
    if (j + 3 < length) out[j + 3] = r1 * Math.sin(a1);
  }
  return out;
}

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** Philox4x32 with 10 rounds: counter (c0..c3), key (k0, k1), all uint32; writes 4 uint32 into out. */
export function philox4x32(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array): Uint32Array {
  let x0 = c0 >>> 0;
  let x1 = c1 >>> 0;
  let x2 = c2 >>> 0;
  let x3 = c3 >>> 0;
  let a = k0 >>> 0;
  let b = k1 >>> 0;
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi32(M0, x0);
    const lo0 = Math.imul(M0, x0) >>> 0;
    const hi1 = mulhi32(M1, x2);
    const lo1 = Math.imul(M1, x2) >>> 0;
    x0 = (hi1 ^ x1 ^ a) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ b) >>> 0;
    x3 = lo0;
    a = (a + W0) >>> 0;
    b = (b + W1) >>> 0;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
  return out;
}

/** High 32 bits of the 64-bit product of two uint32, exact in float64 arithmetic. */
function mulhi32(a: number, b: number): number {
  const ah = a >>> 16;
  const al = a & 0xffff;
  const p1 = ah * b; // < 2^48
  const p0 = al * b; // < 2^48
  return Math.floor((p1 + Math.floor(p0 / 65536)) / 65536) >>> 0;
}
