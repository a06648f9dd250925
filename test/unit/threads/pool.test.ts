import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { runOnWorker } from '../../../core/threads/pool.js';

// A worker written inline that speaks runOnWorker's protocol: two progress messages and the doubled number
// for each task, or an error for a negative one (what serveTasks sends for a throwing handler).
const script = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ index, task }) => {
  if (task < 0) return parentPort.postMessage({ kind: 'error', index, message: 'negative task ' + task });
  parentPort.postMessage({ kind: 'progress', index, progress: 1 });
  parentPort.postMessage({ kind: 'progress', index, progress: 2 });
  parentPort.postMessage({ kind: 'done', index, result: task * 2 });
});`;

describe('runOnWorker', () => {
  const workers: Worker[] = [];
  const start = (): Worker => {
    const w = new Worker(script, { eval: true });
    workers.push(w);
    return w;
  };
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.terminate()));
  });

  it('passes on each task\'s progress and result under its index, and settles when all are done', async () => {
    const progress: [number, number][] = [];
    const results = new Map<number, number>();
    await runOnWorker<number, number, number>(
      start(),
      [{ index: 3, task: 10 }, { index: 7, task: 21 }],
      (i, p) => progress.push([i, p]),
      (i, r) => results.set(i, r),
      'test worker',
    );
    expect(progress).toEqual([[3, 1], [3, 2], [7, 1], [7, 2]]);
    expect([...results]).toEqual([[3, 20], [7, 42]]);
  });

  it('rejects with the worker\'s message, named by what', async () => {
    const run = runOnWorker<number, number, number>(start(), [{ index: 0, task: 1 }, { index: 1, task: -5 }], () => {}, () => {}, 'test worker');
    await expect(run).rejects.toThrow('test worker: negative task -5');
  });

  it('settles at once with no tasks', async () => {
    await expect(runOnWorker(start(), [], () => {}, () => {}, 'idle')).resolves.toBeUndefined();
  });

  it('one worker serves several runs in turn (each run removes its listeners when it settles)', async () => {
    const w = start();
    for (const task of [1, 2, 3]) {
      let got = 0;
      await runOnWorker<number, number, number>(w, [{ index: 0, task }], () => {}, (_, r) => (got = r), 'test worker');
      expect(got).toBe(task * 2);
    }
    expect(w.listenerCount('message')).toBe(0);
    expect(w.listenerCount('error')).toBe(0);
  });
});
