import { describe, expect, it } from 'vitest';
import { syntheticTrace } from '../../../core/trace/synthetic.js';

describe('syntheticTrace', () => {
  const t = syntheticTrace({ prompts: 10, candidates: 50, steps: 20, seed: 5 });

  it('has the requested shape, a noise-aware twin, and depends on the seed alone', () => {
    expect([t.prompts, t.candidates, t.steps, t.base.length, t.hasNarf]).toEqual([10, 50, 20, 10 * 50 * 20, true]);
    expect(syntheticTrace({ prompts: 10, candidates: 50, steps: 20, seed: 5 }).base).toEqual(t.base);
    expect(syntheticTrace({ prompts: 10, candidates: 50, steps: 20, seed: 6 }).base).not.toEqual(t.base);
    expect(t.name).toBe('synthetic-5');
  });

  it('agrees with base at the last step and is closer to the final reward than base earlier on', () => {
    let errBase = 0;
    let errNarf = 0;
    for (let i = 0; i < t.prompts * t.candidates; i++) {
      const final = t.base[i * 20 + 19] as number;
      expect(t.narf[i * 20 + 19]).toBe(final);
      errBase += Math.abs((t.base[i * 20 + 2] as number) - final);
      errNarf += Math.abs((t.narf[i * 20 + 2] as number) - final);
    }
    expect(errNarf).toBeLessThan(errBase);
  });
});
