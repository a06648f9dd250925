import { describe, expect, it } from 'vitest';
import { roundHalfEven } from '../../../core/engine/rounding.js';
import { keepCount, survivorCounts, PAPER_SCHEDULE } from '../../../core/engine/schedule.js';

describe('roundHalfEven', () => {
  it('rounds exact halves to the even neighbour, like Python round()', () => {
    expect([0.5, 1.5, 2.5, 3.5, 4.5, 5.5].map(roundHalfEven)).toEqual([0, 2, 2, 4, 4, 6]);
  });
  it('rounds everything else to the nearest integer', () => {
    expect([0.4, 0.6, 2.49, 2.51, 14, 25.6, 10.4].map(roundHalfEven)).toEqual([0, 1, 2, 3, 14, 26, 10]);
  });
  it('works on the float as given: 45*0.7 is 31.499999999999996 and 50*0.55 is 27.500000000000004', () => {
    expect(roundHalfEven(45 * 0.7)).toBe(31);
    expect(roundHalfEven(50 * 0.55)).toBe(28);
  });
});

describe('keepCount', () => {
  it('keeps max(1, round_half_even(n * alpha)) with the paper rounding on .5 cases', () => {
    expect(keepCount(5, 0.5)).toBe(2); // 2.5 -> 2
    expect(keepCount(7, 0.5)).toBe(4); // 3.5 -> 4
    expect(keepCount(10, 0.35)).toBe(4); // 3.5 -> 4
    expect(keepCount(25, 0.1)).toBe(2); // 2.5 -> 2
    expect(keepCount(45, 0.1)).toBe(4); // 4.5 -> 4
    expect(keepCount(3, 0.5)).toBe(2); // 1.5 -> 2
  });
  it('is exact where n * alpha is an integer in floating point (0.4 * 35 = 14)', () => {
    expect(keepCount(35, 0.4)).toBe(14);
    expect(keepCount(10, 0.5)).toBe(5);
    expect(keepCount(64, 0.4)).toBe(26); // 25.6
  });
  it('never drops below one candidate, and alpha 1 keeps all', () => {
    expect(keepCount(1, 0.4)).toBe(1);
    expect(keepCount(2, 0.1)).toBe(1);
    expect(keepCount(17, 1)).toBe(17);
  });
});

describe('survivorCounts', () => {
  it('chains keep counts over the paper schedule (2:0.4, 6:0.4, 11:0.5)', () => {
    expect(survivorCounts(64, PAPER_SCHEDULE)).toEqual([64, 26, 10, 5]);
    expect(survivorCounts(32, PAPER_SCHEDULE)).toEqual([32, 13, 5, 2]); // 12.8, 5.2, 2.5 -> 2
    expect(survivorCounts(38, PAPER_SCHEDULE)).toEqual([38, 15, 6, 3]);
    expect(survivorCounts(1, PAPER_SCHEDULE)).toEqual([1, 1, 1, 1]);
  });
  it('is [n] for best-of-N', () => {
    expect(survivorCounts(10, [])).toEqual([10]);
  });
});
