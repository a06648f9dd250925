import { describe, expect, it } from 'vitest';
import { relativeIncreasePct, simpson } from '../../../core/engine/metric.js';

const sq = (xs: number[]): number[] => xs.map((x) => x * x);

describe('simpson', () => {
  it('is exact for x^2 with an odd number of samples, equal or unequal spacing', () => {
    expect(simpson(sq([0, 1, 2]), [0, 1, 2])).toBeCloseTo(8 / 3, 12);
    expect(simpson(sq([0, 1, 3]), [0, 1, 3])).toBeCloseTo(9, 12);
    expect(simpson(sq([0, 0.5, 1, 1.5, 2]), [0, 0.5, 1, 1.5, 2])).toBeCloseTo(8 / 3, 12);
  });
  it('is exact for x^2 with an even number of samples (last-interval correction)', () => {
    expect(simpson(sq([0, 1, 2, 4]), [0, 1, 2, 4])).toBeCloseTo(64 / 3, 12);
    expect(simpson(sq([1, 2, 3, 4]), [1, 2, 3, 4])).toBeCloseTo(21, 12);
  });
  it('is exact for x^3 on an equal odd grid (Simpson integrates cubics)', () => {
    const x = [0, 1, 2, 3, 4];
    expect(simpson(x.map((v) => v ** 3), x)).toBeCloseTo(64, 12);
  });
  it('falls back to the trapezoid with two samples and is 0 with one', () => {
    expect(simpson([1, 3], [0, 2])).toBe(4);
    expect(simpson([5], [1])).toBe(0);
    expect(() => simpson([1, 2], [1])).toThrow('2 values against 1');
  });
});

describe('relativeIncreasePct', () => {
  it('compares areas above best-of-N at the smallest budget', () => {
    // y0 = 0. A(bon) = simpson([0,1,1]) = (2/6)(0 + 4 + 1) = 5/3; A(m) = (2/6)(1 + 8 + 2) = 11/3.
    // 100 * (11/3 - 5/3) / (5/3) = 120
    expect(relativeIncreasePct([0, 1, 2], [1, 2, 2], [0, 1, 1])).toBeCloseTo(120, 10);
    expect(relativeIncreasePct([0, 1, 2], [0, 1, 1], [0, 1, 1])).toBe(0);
    // y0 = 2 shifts both curves: A(bon) = (2/6)(0+4+2) = 2, A(m) = (2/6)(0+4+1) = 5/3 -> -16.67%
    expect(relativeIncreasePct([0, 1, 2], [2, 3, 3], [2, 3, 4])).toBeCloseTo(-100 / 6, 10);
  });
});
