import { describe, expect, it } from 'vitest';
import { PendingRuns } from '../../../coordinator/pending-runs.js';

const run = (position: number): { position: number } => ({ position });

describe('PendingRuns', () => {
  it("lists each holder's prompts in input order, whatever order they get waiting candidates in", () => {
    const index = new PendingRuns<{ position: number }>();
    const [a, b, c] = [run(3), run(1), run(7)];
    index.set(c, 'w', true);
    index.set(a, 'w', true);
    index.set(b, 'w', true);
    index.set(a, 'w', true); // again: listed once
    expect(index.first('w')).toBe(b);
    index.set(b, 'w', false);
    expect(index.first('w')).toBe(a);
    index.set(a, 'w', false);
    index.set(a, 'w', false); // not listed: nothing happens
    expect(index.first('w')).toBe(c);
    index.set(c, 'w', false);
    expect(index.first('w')).toBeUndefined();
  });

  it('keeps holders apart', () => {
    const index = new PendingRuns<{ position: number }>();
    const [a, b] = [run(0), run(1)];
    index.set(b, 'x', true);
    index.set(a, '', true);
    expect([index.first('x'), index.first(''), index.first('y')]).toEqual([b, a, undefined]);
  });
});
