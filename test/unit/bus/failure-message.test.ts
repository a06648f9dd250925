import { describe, expect, it } from 'vitest';
import { decodeFailure, decodeScores, encodeFailure, encodeScores } from '../../../core/bus/nats.js';

// A failed batch travels next to the scores, under the worker's own subjects (its NATS permissions allow them).
describe('batch failure messages on NATS', () => {
  const failure = { job: 'j1', worker: 'w-1.x', candidates: [{ prompt: 3, candidate: 7, step: 2 }, { prompt: 3, candidate: 9, step: 2 }], error: 'injected fault' };
  const subject = 'tt.scores.w-1_2ex.j1.failed';

  it('round-trip, the worker id encoded as in score subjects', () => {
    expect(decodeFailure(subject, encodeFailure(failure), 'tt')).toEqual(failure);
    expect(decodeScores(subject, encodeFailure(failure), 'tt')).toBeNull();
  });

  it('malformed ones are null; a score of a reward named "failed" stays a score', () => {
    const enc = (x: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(x));
    expect(decodeFailure(subject, enc({ c: [[3, -1, 2]], e: 'x' }), 'tt')).toBeNull();
    expect(decodeFailure(subject, enc({ c: [[3, 7]], e: 'x' }), 'tt')).toBeNull();
    expect(decodeFailure(subject, enc({ c: [], e: 3 }), 'tt')).toBeNull();
    expect(decodeFailure('tt.scores.w1.j1.other', enc({ c: [], e: '' }), 'tt')).toBeNull();
    const score = { job: 'j1', prompt: 1, candidate: 2, step: 3, reward: 'failed', value: 0.5, worker: 'w1', busy_s: 1 };
    // the one-score form of older workers, and the batch form
    const one = new TextEncoder().encode('{"v":0.5,"b":1}');
    expect(decodeScores('tt.scores.w1.j1.1.2.3.failed', one, 'tt')).toEqual([score]);
    expect(decodeFailure('tt.scores.w1.j1.1.2.3.failed', one, 'tt')).toBeNull();
    const [batch] = encodeScores('tt', [score]);
    expect(decodeScores(batch?.subject ?? '', batch?.data ?? new Uint8Array(), 'tt')).toEqual([score]);
    expect(decodeFailure(batch?.subject ?? '', batch?.data ?? new Uint8Array(), 'tt')).toBeNull();
  });
});
