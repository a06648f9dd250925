// A worker answers a Batch request asking for failures only at once when an op failed, and acknowledges requests
// whose ops all succeeded together: the last of them, ACK_LINGER_MS after the first, or with the next answer.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WorkerBatchResponse } from '../../../core/generated/ttsnap/v1/WorkerBatchResponse.js';
import { ACK_GRID_MS, ACK_LINGER_MS, BatchAnswers } from '../../../worker/batch-answers.js';

const ok = { code: 0, error: '', details: '' };
const missing = { code: 5, error: 'CandidateMissingError', details: 'no candidate 9' };

describe('BatchAnswers', () => {
  let written: WorkerBatchResponse[];
  let answers: BatchAnswers;
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0); // on the acknowledgement grid: the linger alone
    written = [];
    answers = new BatchAnswers((res) => written.push(res));
  });
  afterEach(() => vi.useRealTimers());

  it('acknowledges succeeded requests by answering the last of them once the linger is over', () => {
    answers.answer(1, [ok, ok], true);
    vi.advanceTimersByTime(ACK_LINGER_MS / 2);
    answers.answer(2, [ok], true);
    answers.answer(3, [ok, ok, ok], true);
    expect(written).toEqual([]);
    vi.advanceTimersByTime(ACK_LINGER_MS / 2);
    expect(written).toEqual([{ id: 3, outcomes: [ok, ok, ok] }]);
    vi.advanceTimersByTime(ACK_LINGER_MS * 3);
    expect(written).toHaveLength(1);
  });

  it('sends the acknowledgement on the wall clock grid: at least the linger, then to the next grid point', () => {
    vi.setSystemTime(37);
    answers.answer(1, [ok], true);
    vi.advanceTimersByTime(ACK_LINGER_MS + ACK_GRID_MS - 37 - 1);
    expect(written).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(written).toEqual([{ id: 1, outcomes: [ok] }]);
    expect(Date.now()).toBe(ACK_LINGER_MS + ACK_GRID_MS);
  });

  it('answers a request with a failed op at once, which acknowledges the succeeded ones before it', () => {
    answers.answer(1, [ok], true);
    answers.answer(2, [ok, missing], true);
    expect(written).toEqual([{ id: 2, outcomes: [ok, missing] }]);
    vi.advanceTimersByTime(ACK_LINGER_MS * 2);
    expect(written).toHaveLength(1);
  });

  it('answers every request of a coordinator that does not ask for failures only', () => {
    answers.answer(1, [ok], false);
    answers.answer(2, [ok], false);
    expect(written.map((r) => r.id)).toEqual([1, 2]);
  });

  it('a keepalive sends the pending acknowledgement at once, or else id 0 with the busy seconds (and that this worker reads grouped candidates)', () => {
    answers.answer(6, [ok], true);
    answers.keepalive(2.5);
    expect(written).toEqual([{ id: 6, outcomes: [ok] }]);
    vi.advanceTimersByTime(ACK_LINGER_MS * 2);
    expect(written).toHaveLength(1);
    answers.keepalive(2.5);
    expect(written).toEqual([
      { id: 6, outcomes: [ok] },
      { id: 0, outcomes: [], busy_s: 2.5, grouped: true },
    ]);
  });

  it('sends the pending acknowledgement when the stream ends, and nothing once the coordinator went away', () => {
    answers.answer(4, [ok], true);
    answers.flush();
    expect(written).toEqual([{ id: 4, outcomes: [ok] }]);
    answers.answer(5, [ok], true);
    answers.stop();
    vi.advanceTimersByTime(ACK_LINGER_MS * 2);
    expect(written).toHaveLength(1);
  });
});
