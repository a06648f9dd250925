import { describe, expect, it } from 'vitest';
import { alphasCumprod } from '../../../core/diffusion/betas.js';
import { discreteTimesteps, eulerTimesteps } from '../../../core/diffusion/spacing.js';

describe('timestep spacing (diffusers set_timesteps)', () => {
  it('leading: arange(S) * (N // S) reversed, plus steps_offset', () => {
    expect(Array.from(discreteTimesteps('leading', 1000, 10, 1))).toEqual([901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
    expect(Array.from(discreteTimesteps('leading', 1000, 20, 1)).slice(0, 3)).toEqual([951, 901, 851]);
    // 1000 // 3 = 333
    expect(Array.from(discreteTimesteps('leading', 1000, 3, 0))).toEqual([666, 333, 0]);
  });
  it('trailing: round(arange(N, 0, -N/S)) - 1', () => {
    expect(Array.from(discreteTimesteps('trailing', 1000, 10, 1))).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
    // 1000/3 = 333.33: 1000, 666.67 -> 667, 333.33 -> 333
    expect(Array.from(discreteTimesteps('trailing', 1000, 3, 0))).toEqual([999, 666, 332]);
  });
  it('linspace: round(linspace(0, N-1, S)) reversed, half to even', () => {
    expect(Array.from(discreteTimesteps('linspace', 1000, 10, 1))).toEqual([999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
    // 999 * 13 / 19 = 683.526... -> 684 and 999 * 1 / 19 = 52.58 -> 53
    const ts = Array.from(discreteTimesteps('linspace', 1000, 20, 0));
    expect(ts.slice(0, 7)).toEqual([999, 946, 894, 841, 789, 736, 684]);
    expect(ts.slice(-2)).toEqual([53, 0]);
  });
  it('euler linspace keeps fractional float32 timesteps', () => {
    const ts = Array.from(eulerTimesteps('linspace', 1000, 4, 0));
    expect(ts).toEqual([999, 666, 333, 0]);
    expect(eulerTimesteps('linspace', 1000, 7, 0)[1]).toBe(Math.fround((999 * 5) / 6));
  });
  it('rejects more steps than training timesteps', () => {
    expect(() => discreteTimesteps('leading', 10, 11, 0)).toThrow(/sampling.steps.*\[1, 10\]/);
  });
});

describe('beta schedules', () => {
  it('linear: cumprod of 1 - linspace(start, end, N)', () => {
    const a = alphasCumprod('linear', 0.1, 0.3, 3);
    expect(Array.from(a)).toEqual([0.9, 0.9 * 0.8, 0.9 * 0.8 * 0.7].map((x) => expect.closeTo(x, 15)));
  });
  it('scaled_linear: linspace of square roots, squared (SD 1.5 figures)', () => {
    const a = alphasCumprod('scaled_linear', 0.00085, 0.012, 1000);
    expect(a[0]).toBeCloseTo(1 - 0.00085, 15);
    expect(a[999]).toBeCloseTo(0.004660098513077238, 12);
    const b1 = (Math.sqrt(0.00085) + (Math.sqrt(0.012) - Math.sqrt(0.00085)) / 999) ** 2;
    expect(a[1]).toBeCloseTo((1 - 0.00085) * (1 - b1), 15);
  });
});
