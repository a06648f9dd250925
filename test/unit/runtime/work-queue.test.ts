import { describe, expect, it } from 'vitest';
import { candidateKey, type CandidateKey } from '../../../core/contract/candidates.js';
import { WorkQueue, type WorkItem } from '../../../worker/queue.js';

const item = (job: string, candidate: number, toStep: number): WorkItem => ({ key: candidateKey(job, { prompt: 0, candidate }), job, prompt: 0, candidate, toStep, rewards: [], rewardsId: '' });

describe('WorkQueue.behindAtLeast (how long a job\'s queued work lasts)', () => {
  it('sums the steps each of the job\'s items is behind its target, and stops at the bound', () => {
    const q = new WorkQueue();
    // a: 0 at 1 -> 4 (3 behind), 1 at 2 -> 2 (ready: 0), 2 unknown to the backend; b: 0 at 0 -> 9 (9 behind)
    const at = new Map<CandidateKey, number>([[candidateKey('a', { prompt: 0, candidate: 0 }), 1], [candidateKey('a', { prompt: 0, candidate: 1 }), 2], [candidateKey('b', { prompt: 0, candidate: 0 }), 0]]);
    for (const it of [item('a', 0, 4), item('a', 1, 2), item('a', 2, 5), item('b', 0, 9)]) q.push(it);
    const stepOf = (k: CandidateKey): number | undefined => at.get(k);
    expect([0, 1, 3, 4].map((n) => q.behindAtLeast('a', n, stepOf))).toEqual([true, true, true, false]);
    expect([9, 10].map((n) => q.behindAtLeast('b', n, stepOf))).toEqual([true, false]);
    expect(q.behindAtLeast('c', 1, stepOf)).toBe(false);
    expect(q.behindAtLeast('c', 0, stepOf)).toBe(true);
  });
});
