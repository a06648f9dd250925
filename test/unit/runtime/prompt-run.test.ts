// PromptRun's bookkeeping of one stage: scores land in the engine's arrays (first valid score per reward wins),
// and the re-request sweep returns exactly the candidates due, oldest ask first, without visiting the rest.
import { describe, expect, it } from 'vitest';
import { PAPER_COST } from '../../../core/engine/cost-model.js';
import { makePolicy } from '../../../core/engine/policy.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import type { Score } from '../../../core/bus/score-bus.js';
import { PromptRun, UNPLACED } from '../../../coordinator/prompt-run.js';

function run(rewards: readonly string[] = ['pic']): PromptRun {
  const explored = Int32Array.from([10, 11, 12, 13, 14]);
  const r = new PromptRun(0, 3, '', explored, (i) => 100 + i, makePolicy('ttsnap', PAPER_SCHEDULE), rewards, PAPER_COST, 'exact');
  r.beginStage(0);
  return r;
}

const score = (candidate: number, reward: string, value: number, worker = 'w1', step = 2): Score => ({ job: 'j', prompt: 3, candidate, step, reward, value, worker, busy_s: 0 });

describe('PromptRun', () => {
  it.each([
    ['a range drawn shuffled', [12, 10, 14, 11, 13]],
    ['ids that are no range', [40, 7, 19, 3, 25]],
  ])('keeps each candidate of %s apart: seed, holder, step, segment in flight, scores', (_, ids) => {
    const r = new PromptRun(0, 3, '', Int32Array.from(ids), (i) => 100 + i, makePolicy('ttsnap', PAPER_SCHEDULE), ['pic'], PAPER_COST, 'exact');
    r.beginStage(0);
    expect(ids.map((i) => r.seedOf(i))).toEqual(ids.map((i) => 100 + i));
    expect([r.has(8), r.seedOf(8), r.holderOf(8), r.inflightOn(8), r.isAlive(8)]).toEqual([false, 0, null, null, false]);
    expect([...(r.pending.get(UNPLACED) ?? [])].sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    ids.forEach((i, k) => r.dispatch(i, `w${k % 2}`, -1, k));
    expect(ids.map((i) => r.inflightOn(i))).toEqual(['w0', 'w1', 'w0', 'w1', 'w0']);
    // the second candidate scores best: it is kept at the first prune point (5 -> 2 kept) with the fourth
    ids.forEach((i, k) => expect(r.accept(score(i, 'pic', [0.1, 0.9, 0.2, 0.8, 0.3][k] as number, `w${k % 2}`), 10)?.candidate).toBe(i));
    expect(r.stageComplete).toBe(true);
    expect(Array.from(r.submitStage()?.kept ?? [])).toEqual([ids[1], ids[3]]);
    expect([r.holderOf(ids[1] as number), r.stepOf(ids[1] as number), r.inflightOn(ids[1] as number)]).toEqual(['w1', 2, null]);
    expect(r.dropHolder(ids[0] as number)).toBe('w0');
    expect(r.holderOf(ids[0] as number)).toBeNull();
  });

  it('re-requests only the candidates asked for before the cut-off, and moves them behind the others', () => {
    const r = run();
    r.dispatch(10, 'w1', -1, 100);
    r.dispatch(11, 'w1', -1, 200);
    r.dispatch(12, 'w2', -1, 300);
    expect(r.takeStale(250, 1000)).toEqual([10, 11]);
    // 12 is now the oldest ask; 10 and 11 were asked again at 1000
    expect(r.takeStale(500, 1100)).toEqual([12]);
    expect(r.takeStale(1050, 1200)).toEqual([10, 11]);
    // a scored candidate leaves the sweep; a dispatch again moves it to the end with its new time
    expect(r.accept(score(10, 'pic', 0.5), 1300)?.latencyMs).toBe(1200);
    r.dispatch(12, 'w1', -1, 1400);
    expect(r.takeStale(Number.POSITIVE_INFINITY, 1500)).toEqual([11, 12]);
  });

  it('completes a candidate once every reward has its first score from the worker it is in flight on', () => {
    const r = run(['pic', 'aes']);
    for (const i of [10, 11, 12, 13, 14]) r.dispatch(i, 'w1', -1, 0);
    expect(r.accept(score(10, 'pic', 0.1, 'w2'), 5)).toBeNull(); // a stranger
    expect(r.accept(score(10, 'pic', 0.2), 5)).toBeNull(); // one reward of two
    expect(r.accept(score(10, 'pic', 0.9), 6)).toBeNull(); // a duplicate: the first one stays
    expect(r.accept(score(10, 'aes', Number.NaN), 7)).toEqual({ candidate: 10, worker: 'w1', denoise: 3, latencyMs: 7 });
    expect(r.accept(score(10, 'aes', 0.3), 8)).toBeNull(); // late: no longer in flight
    expect(r.stageComplete).toBe(false);
    for (const i of [11, 12, 13, 14]) {
      r.accept(score(i, 'pic', i / 100), 9);
      r.accept(score(i, 'aes', i / 10), 9);
    }
    expect(r.stageComplete).toBe(true);
    const kept: number[][] = [];
    const scores: Record<string, number[]>[] = [];
    r.onPruned = (_stage, _step, k, s) => void (kept.push(k), scores.push(s));
    const outcome = r.submitStage();
    expect(kept[0]).toEqual(Array.from(outcome?.kept ?? []));
    expect(kept[0]?.map((i, k) => [i, scores[0]?.pic?.[k], scores[0]?.aes?.[k]])).toEqual(kept[0]?.map((i) => (i === 10 ? [i, 0.2, Number.NaN] : [i, i / 100, i / 10])));
  });

  it('a lost worker: what it held and ran goes back to pending, and the unscored steps are those of its segments in flight', () => {
    const r = run();
    // as the scheduler does: take what is pending, then dispatch it
    expect(r.takePending(UNPLACED, 10)).toEqual([10, 11, 12, 13, 14]);
    for (const i of [10, 11, 12]) r.dispatch(i, 'w1', -1, 0);
    for (const i of [13, 14]) r.dispatch(i, 'w2', -1, 0);
    r.accept(score(10, 'pic', 0.9), 1); // held on w1 at step 2, charged
    for (const i of [13, 14]) r.accept(score(i, 'pic', i / 100, 'w2'), 1);
    // 11 and 12 were in flight on w1 from scratch to step 2: up to 3 steps each ran and were never scored
    expect(r.loseWorker('w1')).toEqual({ unscored: 6, inflight: 2, held: 3 });
    expect(r.book.summary().denoise_steps).toBe(9);
    expect(r.takePending(UNPLACED, 10)).toEqual([11, 12]);
    for (const i of [11, 12]) r.dispatch(i, 'w2', -1, 2);
    for (const i of [11, 12]) r.accept(score(i, 'pic', i / 100, 'w2'), 3);
    const outcome = r.submitStage();
    // as releaseCandidates does when the stage closes: the pruned are released where they live
    for (const i of outcome?.pruned ?? []) r.dropHolder(i);
    r.beginStage(4);
    // the survivors: 10 (best, its state lost with w1: from scratch, 7 steps to step 6) and 14 (at step 2 on w2: 4 steps)
    expect([r.request.step, Array.from(r.search.alive())]).toEqual([6, [10, 14]]);
    expect([r.takePending(UNPLACED, 10), r.takePending('w2', 10)]).toEqual([[10], [14]]);
    r.dispatch(10, 'w2', -1, 5);
    r.dispatch(14, 'w2', 2, 5);
    expect(r.loseWorker('w2')).toEqual({ unscored: 11, inflight: 2, held: 2 });
    expect(r.loseWorker('w2')).toEqual({ unscored: 0, inflight: 0, held: 0 });
  });
});
