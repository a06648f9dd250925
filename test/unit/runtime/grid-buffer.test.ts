import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GridBuffer } from '../../../core/grid-buffer.js';

describe('GridBuffer (a watcher\'s events)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => void vi.useRealTimers());

  it('holds events until the next point of the linger grid and then writes them together, in order', () => {
    const written: Array<[number, string]> = [];
    const w = new GridBuffer<string>((es) => es.forEach((e) => written.push([Date.now(), e])), 50, 1);
    const t0 = Date.now();
    w.push('a');
    vi.advanceTimersByTime(20);
    w.push('b');
    w.push('c');
    expect(w.holding).toBe(3);
    expect(written).toEqual([]);
    vi.advanceTimersByTime(29);
    expect(written).toEqual([]);
    vi.advanceTimersByTime(1);
    // the grid point after the first held event, not a linger after the last
    expect(written).toEqual([[t0 + 50, 'a'], [t0 + 50, 'b'], [t0 + 50, 'c']]);
    expect(w.holding).toBe(0);
    w.push('d');
    vi.advanceTimersByTime(50);
    expect(written.map(([, e]) => e)).toEqual(['a', 'b', 'c', 'd']);
    expect(written[3]?.[0]).toBe(t0 + 100);
  });

  it('holds an event pushed between grid points only until the next one', () => {
    const written: number[] = [];
    const w = new GridBuffer<string>((es) => es.forEach(() => written.push(Date.now())), 50, 1);
    vi.setSystemTime(130);
    w.push('a');
    vi.advanceTimersByTime(19);
    expect(written).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(written).toEqual([150]);
  });

  it('writes at once, after what it holds, an event pushed with now (the done event)', () => {
    const written: string[] = [];
    const w = new GridBuffer<string>((es) => es.forEach((e) => written.push(e)), 50, 1);
    w.push('stage');
    w.push('done', true);
    expect(written).toEqual(['stage', 'done']);
    vi.advanceTimersByTime(100);
    expect(written).toEqual(['stage', 'done']);
  });

  it('drops what it holds when closed, returning it, and writes nothing later', () => {
    const written: string[] = [];
    const w = new GridBuffer<string>((es) => es.forEach((e) => written.push(e)), 50, 1);
    w.push('a');
    w.push('b');
    expect(w.close()).toEqual(['a', 'b']);
    expect(w.holding).toBe(0);
    vi.advanceTimersByTime(100);
    expect(written).toEqual([]);
  });

  it('sends an item pushed soon on the next turn with those held, and the held ones\' timer never sends a later item early', () => {
    // a worker client's calls: releases held for 500 ms on the 50 ms grid, a fill's calls on the next turn
    const sent: Array<[number, string[]]> = [];
    const w = new GridBuffer<string>((es) => sent.push([Date.now(), [...es]]), 50, 500);
    w.push('release 1');
    vi.advanceTimersByTime(100);
    w.pushSoon('take');
    w.pushSoon('advance');
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(sent).toEqual([[100, ['release 1', 'take', 'advance']]]);
    // a release held after that send waits its own 500 ms: the first release's timer (due at 500) is gone
    vi.advanceTimersByTime(200);
    w.push('release 2');
    vi.advanceTimersByTime(499);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([[100, ['release 1', 'take', 'advance']], [800, ['release 2']]]);
  });

  it('holds items pushed on a coarser grid until its point, and sends them earlier when a push asks for the finer one', () => {
    // a worker's scores: on the 200 ms grid while it has more work queued, on the 50 ms grid once it has none
    const sent: Array<[number, string[]]> = [];
    const w = new GridBuffer<string>((es) => sent.push([Date.now(), [...es]]), 50);
    vi.setSystemTime(10);
    w.pushAll(['a'], false, 200);
    vi.advanceTimersByTime(60);
    w.pushAll(['b'], false, 200);
    vi.advanceTimersByTime(129);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([[200, ['a', 'b']]]);
    vi.advanceTimersByTime(20);
    w.pushAll(['c'], false, 200);
    vi.advanceTimersByTime(40);
    w.pushAll(['d']);
    vi.advanceTimersByTime(39);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    // the finer grid's next point (300), not the coarser one's (400)
    expect(sent).toEqual([[200, ['a', 'b']], [300, ['c', 'd']]]);
    // a coarser push while a finer timer is set changes nothing: it goes with that timer
    vi.advanceTimersByTime(10);
    w.pushAll(['e']);
    w.pushAll(['f'], false, 200);
    vi.advanceTimersByTime(40);
    expect(sent).toEqual([[200, ['a', 'b']], [300, ['c', 'd']], [350, ['e', 'f']]]);
    vi.advanceTimersByTime(500);
    expect(sent).toHaveLength(3);
  });
});
