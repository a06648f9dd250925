import { describe, expect, it } from 'vitest';
import { LedgerBook, mergeLedgers, plannedLedger } from '../../../core/engine/ledger.js';
import { PAPER_COST } from '../../../core/engine/cost-model.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';

const cost = PAPER_COST;

describe('plannedLedger', () => {
  // 32 candidates on 2:0.4,6:0.4,11:0.5 -> alive 32, 13, 5, 2.
  // Denoise steps per stage: 32*3=96, 13*4=52, 5*5=25, 2*8=16 -> 189; reward calls 32+13+5+2 = 52.
  it('exact: 189 steps, 52 calls, 189*9.9 + 52*1.2 = 1933.5', () => {
    const l = plannedLedger(32, PAPER_SCHEDULE, cost, 'exact', ['pic']);
    expect(l.candidates).toBe(32);
    expect(l.denoise_steps).toBe(189);
    expect(l.reward_calls).toEqual({ pic: 52 });
    expect(l.cost).toBeCloseTo(1933.5, 9);
    expect(l.stages.map((s) => [s.step, s.denoise_steps, s.reward_calls.pic])).toEqual([
      [2, 96, 32],
      [6, 52, 13],
      [11, 25, 5],
      [19, 16, 2],
    ]);
    // 96*9.9+32*1.2, 52*9.9+13*1.2, 25*9.9+5*1.2, 16*9.9+2*1.2
    [988.8, 530.4, 253.5, 160.8].forEach((c, i) => expect(l.stages[i]?.cost).toBeCloseTo(c, 9));
  });
  it('paper: the same work, one step per candidate not charged: (189-32)*9.9 + 52*1.2 = 1616.7', () => {
    const l = plannedLedger(32, PAPER_SCHEDULE, cost, 'paper', ['pic']);
    expect(l.denoise_steps).toBe(189); // executed steps are reported as executed
    expect(l.cost).toBeCloseTo(1616.7, 9);
    expect(l.stages[0]?.cost).toBeCloseTo(64 * 9.9 + 32 * 1.2, 9);
  });
  it('best-of-N costs 20 steps and one call per candidate under both accountings', () => {
    for (const acc of ['exact', 'paper'] as const) {
      const l = plannedLedger(10, [], cost, acc, ['pic']);
      expect(l.denoise_steps).toBe(200);
      expect(l.cost).toBeCloseTo(1992, 9);
    }
  });
  it('charges prune rewards at prune points and final rewards at the last step', () => {
    const l = plannedLedger(32, PAPER_SCHEDULE, cost, 'exact', ['hps', 'pic'], ['pic']);
    expect(l.reward_calls).toEqual({ hps: 50, pic: 52 });
    expect(l.cost).toBeCloseTo(189 * 9.9 + 102 * 1.2, 9);
  });
});

describe('LedgerBook', () => {
  it('records executed work, recomputation included, and prices it', () => {
    const book = new LedgerBook(cost, 'exact', [{ step: 4, alpha: 0.5 }]);
    book.addCandidates(4);
    book.addDenoise(4, 4 * 5);
    book.addDenoise(4, 3); // a worker failed and one candidate was recomputed from step 2
    book.addRewardCalls(4, 'pic', 4);
    book.addDenoise(19, 2 * 15);
    book.addRewardCalls(19, 'pic', 2);
    book.addRewardCalls(19, 'clip', 2);
    const l = book.summary();
    expect(l.denoise_steps).toBe(53);
    expect(l.reward_calls).toEqual({ clip: 2, pic: 6 });
    expect(l.cost).toBeCloseTo(53 * 9.9 + 8 * 1.2, 9);
    expect(Object.keys(l.stages[1]?.reward_calls ?? {})).toEqual(['clip', 'pic']); // sorted names
  });
  it('books a scored candidate (its steps, a call of each reward) as the separate additions do, stages interleaved', () => {
    const one = new LedgerBook(cost, 'exact', [{ step: 4, alpha: 0.5 }]);
    const two = new LedgerBook(cost, 'exact', [{ step: 4, alpha: 0.5 }]);
    for (const [step, steps] of [[4, 5], [4, 5], [19, 15], [4, 3], [19, 15]] as const) {
      one.addScored(step, steps, ['pic', 'clip']);
      two.addDenoise(step, steps);
      two.addRewardCalls(step, 'pic', 1);
      two.addRewardCalls(step, 'clip', 1);
    }
    expect(one.summary()).toEqual(two.summary());
    expect(one.summary().stages.map((s) => [s.step, s.denoise_steps, s.reward_calls])).toEqual([
      [4, 13, { clip: 3, pic: 3 }],
      [19, 30, { clip: 2, pic: 2 }],
    ]);
  });
  it('under paper accounting discounts one step per candidate from the first stage', () => {
    const book = new LedgerBook(cost, 'paper', [{ step: 4, alpha: 0.5 }]);
    book.addCandidates(4);
    book.addDenoise(4, 20);
    book.addRewardCalls(4, 'pic', 4);
    book.addDenoise(19, 30);
    book.addRewardCalls(19, 'pic', 2);
    expect(book.summary().cost).toBeCloseTo((50 - 4) * 9.9 + 6 * 1.2, 9);
  });
});

describe('mergeLedgers', () => {
  it('adds prompts stage by stage', () => {
    const a = plannedLedger(32, PAPER_SCHEDULE, cost, 'exact', ['pic']);
    const b = plannedLedger(10, [], cost, 'exact', ['pic']);
    const m = mergeLedgers([a, b]);
    expect(m.candidates).toBe(42);
    expect(m.denoise_steps).toBe(389);
    expect(m.reward_calls).toEqual({ pic: 62 });
    expect(m.cost).toBeCloseTo(1933.5 + 1992, 9);
    expect(m.stages.map((s) => [s.step, s.denoise_steps])).toEqual([
      [2, 96],
      [6, 52],
      [11, 25],
      [19, 216],
    ]);
  });
});
