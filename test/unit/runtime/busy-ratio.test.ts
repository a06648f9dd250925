import { describe, expect, it } from 'vitest';
import { busyRatio } from '../../../coordinator/housekeeping.js';

// The busy-ratio gauge comes from the busy seconds workers report with heartbeats and scores (no status poll).
describe('busyRatio', () => {
  it('is busy seconds over elapsed seconds', () => {
    expect(busyRatio(0.5, 1000)).toBe(0.5);
    expect(busyRatio(0.25, 500)).toBe(0.5);
    expect(busyRatio(0, 1000)).toBe(0);
  });
  it('stays within [0, 1]: more seconds than elapsed (reports bunched), fewer than before (a restarted worker), no time', () => {
    expect(busyRatio(3, 2000)).toBe(1);
    expect(busyRatio(-2, 1000)).toBe(0);
    expect(busyRatio(1, 0)).toBe(0);
  });
});
