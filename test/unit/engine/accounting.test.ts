import { describe, expect, it } from 'vitest';
import { candidatesForBudget, chargedSteps, expectedCostPerCandidate, parseAccounting } from '../../../core/engine/accounting.js';
import { compileCostModel, parseCostSpec, PAPER_COST } from '../../../core/engine/cost-model.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { BudgetTooSmallError, ValidationError } from '../../../core/errors.js';

const cost = PAPER_COST; // 9.9 per step, 1.2 per reward call, 20 steps

describe('expectedCostPerCandidate', () => {
  it('exact: 3*9.9+1.2 + 0.4*(4*9.9+1.2) + 0.16*(5*9.9+1.2) + 0.08*(8*9.9+1.2) = 61.764', () => {
    expect(expectedCostPerCandidate(PAPER_SCHEDULE, cost, 'exact')).toBeCloseTo(61.764, 10);
  });
  it('paper: one step less, 51.864', () => {
    expect(expectedCostPerCandidate(PAPER_SCHEDULE, cost, 'paper')).toBeCloseTo(51.864, 10);
  });
  it('best-of-N: 20*9.9 + 1.2 = 199.2 under both accountings', () => {
    expect(expectedCostPerCandidate([], cost, 'exact')).toBeCloseTo(199.2, 10);
    expect(expectedCostPerCandidate([], cost, 'paper')).toBeCloseTo(199.2, 10);
  });
  it('charges one call per reward model at each score', () => {
    // 20*9.9 + 2*1.2
    expect(expectedCostPerCandidate([], cost, 'exact', 2)).toBeCloseTo(200.4, 10);
  });
});

describe('chargedSteps', () => {
  it('exact charges s+1 steps for a score at s; paper charges s when the schedule prunes', () => {
    expect(chargedSteps(2, PAPER_SCHEDULE, 'exact')).toBe(3);
    expect(chargedSteps(19, PAPER_SCHEDULE, 'paper')).toBe(19);
    expect(chargedSteps(19, [], 'paper')).toBe(20);
  });
});

describe('candidatesForBudget', () => {
  it('B = 2000: best-of-N 10, TTSnap 32 (exact) and 38 (paper)', () => {
    expect(candidatesForBudget(2000, [], cost, 'exact')).toBe(10); // 2000 / 199.2 = 10.04
    expect(candidatesForBudget(2000, PAPER_SCHEDULE, cost, 'exact')).toBe(32); // 32.38
    expect(candidatesForBudget(2000, PAPER_SCHEDULE, cost, 'paper')).toBe(38); // 38.56
  });
  it('keeps an exact multiple of the per-candidate cost (3 * 199.2)', () => {
    expect(candidatesForBudget(3 * 199.2, [], cost, 'exact')).toBe(3);
  });
  it('rejects a budget below one candidate, stating the minimum', () => {
    expect(() => candidatesForBudget(61, PAPER_SCHEDULE, cost, 'exact', 1, '--budgets')).toThrow(BudgetTooSmallError);
    expect(() => candidatesForBudget(61, PAPER_SCHEDULE, cost, 'exact', 1, '--budgets')).toThrow(
      '--budgets: budget 61 is below the cost of one candidate; allowed: >= 61.764',
    );
    expect(() => candidatesForBudget(199, [], cost, 'paper')).toThrow('allowed: >= 199.2');
    expect(candidatesForBudget(61.77, PAPER_SCHEDULE, cost, 'exact')).toBe(1);
  });
  it('rejects non-positive and non-finite budgets', () => {
    expect(() => candidatesForBudget(0, [], cost, 'exact')).toThrow(ValidationError);
    expect(() => candidatesForBudget(Number.NaN, [], cost, 'exact')).toThrow(ValidationError);
  });
});

describe('cost and accounting parsing', () => {
  it('reads denoise=,verify=,steps= and fills defaults', () => {
    expect(parseCostSpec('denoise=2,verify=0.5')).toEqual({ denoise: 2, verify: 0.5, steps: 20 });
    expect(parseCostSpec('verify=1', '--cost', { steps: 30 })).toEqual({ denoise: 9.9, verify: 1, steps: 30 });
  });
  it('names the flag on bad input', () => {
    expect(() => parseCostSpec('denoise=x')).toThrow("--cost: denoise is 'x'; allowed: a number");
    expect(() => parseCostSpec('gpu=3')).toThrow("--cost: cannot read 'gpu=3'");
    expect(() => compileCostModel({ denoise: 0 })).toThrow('cost.denoise: got 0; allowed: a finite number > 0');
    expect(() => parseAccounting('fast')).toThrow("--accounting: got 'fast'; allowed: exact | paper");
  });
});
