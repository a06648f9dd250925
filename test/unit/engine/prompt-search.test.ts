import { describe, expect, it } from 'vitest';
import { PromptSearch } from '../../../core/engine/prompt-search.js';

const schedule = [
  { step: 1, alpha: 0.5 },
  { step: 3, alpha: 0.5 },
];

describe('PromptSearch', () => {
  it('walks the stages: keep 5 of 10 at step 1, 2 of 5 at step 3 (2.5 -> 2), pick at step 5', () => {
    const s = new PromptSearch([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], schedule, 6);
    expect(s.request()).toEqual({ step: 1, pruneIndex: 0, final: false });
    // 0.5 ties between ids 4 and 5: the lower id stays.
    const first = s.submit([[0.1, 0.9, 0.3, 0.8, 0.5, 0.5, 0.2, 0.7, 0.0, 0.6]]);
    expect(first && [...first.kept]).toEqual([1, 3, 4, 7, 9]);
    expect(first && [...first.pruned]).toEqual([0, 2, 5, 6, 8]);
    expect([...s.alive()]).toEqual([1, 3, 4, 7, 9]);

    expect(s.request()).toEqual({ step: 3, pruneIndex: 1, final: false });
    const second = s.submit([[0.2, 0.4, 0.4, 0.1, 0.3]]);
    expect(second && [...second.kept]).toEqual([3, 4]);
    expect(second && [...second.pruned]).toEqual([1, 7, 9]);

    expect(s.request()).toEqual({ step: 5, pruneIndex: -1, final: true });
    expect(s.done).toBe(false);
    expect(s.submit([[0.5, 0.6]])).toBeNull();
    expect(s.done).toBe(true);
    expect([...s.finalRanking()]).toEqual([4, 3]);
    expect(s.winner()).toBe(4);
    expect(() => s.request()).toThrow('finished');
  });

  it('best-of-N has one final stage', () => {
    const s = new PromptSearch([4, 8, 15], [], 20);
    expect(s.request()).toEqual({ step: 19, pruneIndex: -1, final: true });
    s.submit([[1, 3, 3]]);
    expect([...s.finalRanking()]).toEqual([8, 15, 4]);
  });

  it('keeps alive() in the order candidates were given and ranks by rank-sum with several rewards', () => {
    const s = new PromptSearch([9, 2, 5, 7], [{ step: 0, alpha: 0.5 }], 3);
    // reward A ranks ids 9,2,5,7 as 1,2,3,4; reward B as 4,1,3,2 -> sums 5,3,6,6 -> keep ids 2 and 9
    s.submit([
      [4, 3, 2, 1],
      [0, 9, 5, 6],
    ]);
    expect([...s.alive()]).toEqual([9, 2]);
    s.submit([[0.7, 0.7]]);
    expect(s.winner()).toBe(2); // tie at the end: lower id
  });

  it('reset() starts a new prompt with new candidates and the same schedule', () => {
    const s = new PromptSearch([0, 1, 2, 3], schedule, 6);
    s.submit([[1, 2, 3, 4]]);
    s.reset([5, 6]);
    expect([...s.alive()]).toEqual([5, 6]);
    expect(s.request().step).toBe(1);
    s.submit([[0, 1]]); // keep max(1, round(1)) = 1
    s.submit([[0]]);
    s.submit([[0]]);
    expect(s.winner()).toBe(6);
  });

  it('rejects an empty candidate list', () => {
    expect(() => new PromptSearch([], schedule, 6)).toThrow('at least one candidate');
  });
});

describe('PromptSearch.advanceRanked', () => {
  it('keeps what advance keeps, best first, and leaves the final pick to advance', () => {
    // scores of ids 0..5 at step 1; ranks by (score desc, id asc): id1 0.9 -> 0, id3 0.8 -> 1, id4 0.5 -> 2,
    // id5 0.5 -> 3, id2 0.3 -> 4, id0 0.1 -> 5
    const ranks = [5, 0, 4, 1, 2, 3];
    const s = new PromptSearch([0, 1, 2, 3, 4, 5], [{ step: 1, alpha: 0.5 }], 4);
    s.advanceRanked(ranks, 0, 6);
    expect([...s.alive()]).toEqual([1, 3, 4]);
    expect(() => s.advanceRanked(ranks, 0, 6)).toThrow('advanceRanked serves prune points');
    s.advance([[0.2, 0.7, 0.7]]);
    expect(s.winner()).toBe(3);
    expect([...s.finalRanking()]).toEqual([3, 4, 1]);
  });
});

describe('PromptSearch with non-finite scores', () => {
  it('keeps NaN and infinite candidates explored, prunes them first, and never picks them over a finite one', () => {
    const s = new PromptSearch([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [{ step: 1, alpha: 0.5 }], 4);
    const first = s.submit([[0.1, Number.NaN, 0.3, Number.POSITIVE_INFINITY, 0.5, 0.2, Number.NEGATIVE_INFINITY, 0.7, 0.0, 0.6]]);
    // the five best finite scores: 0.7 (id 7), 0.6 (9), 0.5 (4), 0.3 (2), 0.2 (5)
    expect(first && [...first.kept]).toEqual([2, 4, 5, 7, 9]);
    expect(first && [...first.pruned]).toEqual([0, 1, 3, 6, 8]);
    expect([...s.explored]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // final: id 2 NaN, 4 0.3, 5 +Inf, 7 -2, 9 0.1
    s.submit([[Number.NaN, 0.3, Number.POSITIVE_INFINITY, -2, 0.1]]);
    expect(s.winner()).toBe(4);
    expect([...s.finalRanking()]).toEqual([4, 9, 7, 2, 5]);
  });
  it('all non-finite: still completes, the lowest id wins', () => {
    const s = new PromptSearch([5, 3, 8], [], 3);
    s.submit([[Number.NaN, Number.POSITIVE_INFINITY, Number.NaN]]);
    expect(s.winner()).toBe(3);
    expect([...s.finalRanking()]).toEqual([3, 5, 8]);
  });
});

describe('PromptSearch.resumeAt', () => {
  const sched = [
    { step: 1, alpha: 0.5 },
    { step: 3, alpha: 0.5 },
  ];
  it('continues from a recorded stage exactly as the uninterrupted search', () => {
    const whole = new PromptSearch([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], sched, 6);
    whole.submit([[0.1, 0.9, 0.3, 0.8, 0.5, 0.5, 0.2, 0.7, 0.0, 0.6]]);
    const kept = [...whole.alive()];
    const resumed = new PromptSearch([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], sched, 6);
    resumed.resumeAt(1, kept);
    expect(resumed.stageIndex).toBe(1);
    expect(resumed.request()).toEqual({ step: 3, pruneIndex: 1, final: false });
    for (const s of [whole, resumed]) s.submit([[0.2, 0.4, 0.4, 0.1, 0.3]]);
    for (const s of [whole, resumed]) s.submit([[0.5, 0.6]]);
    expect(resumed.winner()).toBe(whole.winner());
    expect([...resumed.explored]).toEqual([...whole.explored]);
  });
  it('refuses a stage or candidates the schedule cannot have produced', () => {
    const s = (): PromptSearch => new PromptSearch([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], sched, 6);
    expect(() => s().resumeAt(3, [1])).toThrow('stage 3 is outside [0, 2]');
    expect(() => s().resumeAt(1, [1, 2, 3])).toThrow('stage 1 starts with 5 candidates, not 3');
    expect(() => s().resumeAt(2, [1, 11])).toThrow('candidate 11 is not an explored candidate');
    expect(() => s().resumeAt(2, [1, 1])).toThrow('candidate 1 is not an explored candidate');
    const final = s();
    final.resumeAt(2, [4, 7]);
    expect(final.request().final).toBe(true);
  });
});
