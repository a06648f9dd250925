import { describe, expect, it } from 'vitest';
import { decodeScores, encodeScores } from '../../../core/bus/nats.js';
import { encodeScoreBatch } from '../../../core/bus/score-batch.js';
import type { Score } from '../../../core/bus/score-bus.js';

const score = (candidate: number, reward: string, value: number): Score => ({ job: 'j1', prompt: 4, candidate, step: 12, reward, value, worker: 'w-1', busy_s: 2.5 + candidate });
const SUBJECT = 'tt.scores.w-1.j1';

// Scores travel as bus.proto's ScoreBatch (protocol 3); the JSON rows of protocol 2 workers are still read.
describe('score messages on NATS', () => {
  it('round-trip as columns: several rewards, NaN and infinities as they are, one message per worker and job', () => {
    const scores = [score(0, 'pic', 0.25), score(0, 'aes', Number.NaN), score(7, 'pic', Number.POSITIVE_INFINITY), score(9, 'aes', -1e-300)];
    const other = { ...score(1, 'pic', 0.5), job: 'j2' };
    const msgs = encodeScores('tt', [...scores, other]);
    expect(msgs.map((m) => m.subject)).toEqual([SUBJECT, 'tt.scores.w-1.j2']);
    expect(msgs[0]?.data[0]).not.toBe(0x7b);
    expect(decodeScores(SUBJECT, msgs[0]?.data ?? new Uint8Array(), 'tt')).toEqual(scores);
    expect(decodeScores('tt.scores.w-1.j2', msgs[1]?.data ?? new Uint8Array(), 'tt')).toEqual([other]);
  });

  it('cuts a message every 1000 scores', () => {
    const many = Array.from({ length: 2001 }, (_, i) => score(i, 'pic', i / 7));
    const msgs = encodeScores('tt', many);
    expect(msgs).toHaveLength(3);
    expect(msgs.flatMap((m) => decodeScores(m.subject, m.data, 'tt') ?? [])).toEqual(many);
  });

  it('reads the JSON rows of protocol 2 workers, a non-finite value as a string', () => {
    const json = new TextEncoder().encode('{"r":["pic","aes"],"s":[[4,0,12,0,0.25,2.5],[4,0,12,1,"NaN",2.5]]}');
    expect(decodeScores(SUBJECT, json, 'tt')).toEqual([score(0, 'pic', 0.25), score(0, 'aes', Number.NaN)]);
  });

  it('malformed batches are null, never thrown: unequal columns, a reward index out of range, a bad name, garbage', () => {
    const columns = { rewards: ['pic'], prompt: [4, 4], candidate: [0, 1], step: [12, 12], reward: [0, 0], value: [0.5, 0.25], busy_s: [1, 1] };
    expect(decodeScores(SUBJECT, encodeScoreBatch(columns), 'tt')).toHaveLength(2);
    expect(decodeScores(SUBJECT, encodeScoreBatch({ ...columns, value: [0.5] }), 'tt')).toBeNull();
    expect(decodeScores(SUBJECT, encodeScoreBatch({ ...columns, busy_s: [] }), 'tt')).toBeNull();
    expect(decodeScores(SUBJECT, encodeScoreBatch({ ...columns, reward: [0, 1] }), 'tt')).toBeNull();
    expect(decodeScores(SUBJECT, encodeScoreBatch({ ...columns, rewards: ['p.c'] }), 'tt')).toBeNull();
    expect(decodeScores(SUBJECT, new Uint8Array([0x12, 0x05, 0x01]), 'tt')).toBeNull();
    expect(decodeScores('tt.scores.w-1.j>1', encodeScoreBatch(columns), 'tt')).toBeNull();
  });
});
