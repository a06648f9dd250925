import { describe, expect, it } from 'vitest';
import { initialNoise, philox4x32, stepNoise } from '../../../core/diffusion/noise.js';

describe('Philox4x32-10', () => {
  it('matches the Random123 known-answer vectors', () => {
    const out = new Uint32Array(4);
    expect(Array.from(philox4x32(0, 0, 0, 0, 0, 0, out))).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    const f = 0xffffffff;
    expect(Array.from(philox4x32(f, f, f, f, f, f, out))).toEqual([0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
    expect(Array.from(philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out))).toEqual([
      0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1,
    ]);
  });
});

describe('initial noise', () => {
  it('is a pure function of the seed: element j never depends on the length asked for', () => {
    const long = initialNoise(42, 1000);
    const short = initialNoise(42, 6);
    expect(Array.from(short)).toEqual(Array.from(long.subarray(0, 6)));
    expect(Array.from(initialNoise(42, 1000))).toEqual(Array.from(long));
    expect(initialNoise(43, 6)).not.toEqual(short);
  });
  it('lanes follow Box-Muller of the Philox block (documented formula)', () => {
    const b = philox4x32(0, 0, 0, 0, 7, 0, new Uint32Array(4));
    const u = Array.from(b, (k) => (k + 0.5) / 4294967296);
    const r = Math.sqrt(-2 * Math.log(u[0]!));
    const z = initialNoise(7, 4);
    expect(z[0]).toBe(Math.fround(r * Math.cos(2 * Math.PI * u[1]!)));
    expect(z[1]).toBe(Math.fround(r * Math.sin(2 * Math.PI * u[1]!)));
  });
  it('seeds above 2^32 use the high key word', () => {
    expect(initialNoise(2 ** 32 + 5, 4)).not.toEqual(initialNoise(5, 4));
  });
  it('is standard normal', () => {
    const z = initialNoise(1, 200_000);
    let m = 0;
    let v = 0;
    for (const x of z) m += x;
    m /= z.length;
    for (const x of z) v += (x - m) ** 2;
    v /= z.length;
    expect(Math.abs(m)).toBeLessThan(0.01);
    expect(Math.abs(v - 1)).toBeLessThan(0.01);
  });
});

describe('per-step noise of ancestral samplers', () => {
  it('step i is Philox stream i + 1 of the seed: counter (j / 4, i + 1, 0, 0), Box-Muller as the initial noise', () => {
    const b = philox4x32(0, 3, 0, 0, 7, 0, new Uint32Array(4));
    const u = Array.from(b, (k) => (k + 0.5) / 4294967296);
    const r = Math.sqrt(-2 * Math.log(u[2]!));
    const z = stepNoise(7, 2, 4);
    expect(z[2]).toBe(Math.fround(r * Math.cos(2 * Math.PI * u[3]!)));
    expect(z[3]).toBe(Math.fround(r * Math.sin(2 * Math.PI * u[3]!)));
  });
  it('is a pure function of (seed, step, length): prefixes agree, and it differs from the initial noise and other steps', () => {
    const long = stepNoise(42, 3, 1000);
    expect(Array.from(stepNoise(42, 3, 6))).toEqual(Array.from(long.subarray(0, 6)));
    expect(Array.from(stepNoise(42, 3, 1000))).toEqual(Array.from(long));
    expect(stepNoise(42, 3, 6)).not.toEqual(stepNoise(42, 4, 6));
    expect(stepNoise(42, 0, 6)).not.toEqual(initialNoise(42, 6));
    expect(stepNoise(43, 3, 6)).not.toEqual(stepNoise(42, 3, 6));
  });
  it('refuses a step that is not a non-negative integer', () => {
    expect(() => stepNoise(1, -1, 4)).toThrow(/step -1 must be an integer/);
    expect(() => stepNoise(1, 0.5, 4)).toThrow(RangeError);
  });
});
