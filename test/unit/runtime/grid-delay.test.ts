import { describe, expect, it } from 'vitest';
import { gridDelay } from '../../../core/grid-delay.js';

describe('gridDelay', () => {
  it('waits at least the minimum, then to the next multiple of the grid', () => {
    expect(gridDelay(500, 100, 0)).toBe(500);
    expect(gridDelay(500, 100, 1)).toBe(599);
    expect(gridDelay(500, 100, 99)).toBe(501);
    expect(gridDelay(500, 100, 100)).toBe(500);
    expect(gridDelay(1000, 250, 12_345)).toBe(1155); // 12,345 + 1,155 = 13,500
  });

  it('lines up timers started at different moments on the same instant', () => {
    const at = [10_003, 10_050, 10_099].map((now) => now + gridDelay(500, 100, now));
    expect(at).toEqual([10_600, 10_600, 10_600]);
  });

  it('is the minimum alone without a grid', () => {
    expect(gridDelay(250, 0, 12_345)).toBe(250);
  });
});
