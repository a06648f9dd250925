import { describe, expect, it } from 'vitest';
import { candidatesForBudget } from '../../../core/engine/accounting.js';
import { survivorCounts } from '../../../core/engine/schedule.js';
import { BEST_OF_N, formatPlan, isValidPlan, realizePlan, scheduleFor, type PlanContext } from '../../../core/tune/plan.js';

// Toy cost model: 1 per denoise step, 0.5 per reward call, 4 steps (a finished candidate costs 4 + 0.5).
const exact: PlanContext = { cost: { denoise: 1, verify: 0.5, steps: 4 }, accounting: 'exact', candidates: 100 };

describe('plans', () => {
  it('formats and validates', () => {
    expect(formatPlan(BEST_OF_N)).toBe('bon');
    expect(formatPlan({ steps: [0, 2], keeps: [5, 2] })).toBe('0:5,2:2');
    expect(isValidPlan({ steps: [0, 2], keeps: [5, 2] }, 4)).toBe(true);
    expect(isValidPlan({ steps: [0, 3], keeps: [5, 2] }, 4)).toBe(false); // step beyond S-2
    expect(isValidPlan({ steps: [2, 1], keeps: [5, 2] }, 4)).toBe(false); // steps not increasing
    expect(isValidPlan({ steps: [0, 1], keeps: [2, 2] }, 4)).toBe(false); // keeps not decreasing
    expect(isValidPlan({ steps: [0], keeps: [0] }, 4)).toBe(false);
  });

  it('turns keep counts into alphas the engine rounds back to the same counts', () => {
    const schedule = scheduleFor(11, { steps: [0, 1], keeps: [5, 2] });
    expect(schedule).toEqual([{ step: 0, alpha: 5 / 11 }, { step: 1, alpha: 2 / 5 }]);
    expect(survivorCounts(11, schedule)).toEqual([11, 5, 2]);
  });

  it('best-of-N buys floor(B / 4.5) candidates', () => {
    const r = realizePlan(BEST_OF_N, 20, exact);
    expect(r?.n).toBe(4);
    expect(r?.schedule).toEqual([]);
    expect(r?.cost).toBe(18);
  });

  it('prune at step 0 keeping 1: N is the largest with n * 1.5 + 3.5 <= B, and the engine derives the same N', () => {
    // B = 20 is an exact multiple: 11 * 1.5 + 3.5 = 20.
    const r = realizePlan({ steps: [0], keeps: [1] }, 20, exact);
    expect(r?.n).toBe(11);
    expect(r?.cost).toBe(20);
    expect(r?.schedule).toEqual([{ step: 0, alpha: 1 / 11 }]);
    expect(candidatesForBudget(20, r?.schedule ?? [], exact.cost, 'exact')).toBe(11);
    // 19.9 buys one fewer: 10 * 1.5 + 3.5 = 18.5.
    expect(realizePlan({ steps: [0], keeps: [1] }, 19.9, exact)?.n).toBe(10);
  });

  it('two prune points are priced with the real keep counts', () => {
    // n * (1 + 0.5) + 5 * (1 + 0.5) + 2 * (2 + 0.5) = 1.5 n + 12.5 <= 30  ->  n = 11 (29)
    const r = realizePlan({ steps: [0, 1], keeps: [5, 2] }, 30, exact);
    expect(r?.n).toBe(11);
    expect(r?.cost).toBe(29);
  });

  it('refuses a plan the budget cannot carry past its first keep count', () => {
    // keeping 5 needs n >= 6: 6 * 1.5 + 5 * 4 = 29 > 20
    expect(realizePlan({ steps: [0], keeps: [5] }, 20, exact)).toBeNull();
    expect(realizePlan(BEST_OF_N, 4, exact)).toBeNull(); // below one candidate
  });

  it('refuses a plan that would need more candidates than the trace holds', () => {
    const small: PlanContext = { ...exact, candidates: 8 };
    // 8 candidates cost 8 * 1.5 + 3.5 = 15.5 < 20: the engine would derive N = 10 > 8
    expect(realizePlan({ steps: [0], keeps: [1] }, 20, small)).toBeNull();
    expect(realizePlan({ steps: [0], keeps: [1] }, 15.5, small)?.n).toBe(8);
  });

  it('paper accounting charges the first segment one step short', () => {
    const paper: PlanContext = { ...exact, accounting: 'paper' };
    // n * (1 + 0.5) - n + 3.5 = 0.5 n + 3.5 <= 10  ->  n = 13
    const r = realizePlan({ steps: [0], keeps: [1] }, 10, paper);
    expect(r?.n).toBe(13);
    expect(r?.cost).toBe(10);
  });
});
