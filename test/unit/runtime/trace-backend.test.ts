import { describe, expect, it } from 'vitest';
import { MemoryScoreBus } from '../../../core/bus/memory.js';
import type { Score } from '../../../core/bus/score-bus.js';
import { traceOffset } from '../../../core/trace/reward-trace.js';
import type { TraceBackend } from '../../../worker/backends/trace.js';
import { createTraceBackend } from '../../../worker/backends/trace.js';
import { WorkerRuntime } from '../../../worker/runtime.js';
import { BASE, NARF, trace } from '../../integration/runtime/engine-alone.js';

/** A memory bus that records when each publish call came and how many scores it carried. */
function timedBus(): { bus: MemoryScoreBus; calls: Array<{ at: number; n: number }> } {
  const calls: Array<{ at: number; n: number }> = [];
  const bus = new MemoryScoreBus();
  const publish = bus.publish.bind(bus);
  bus.publish = (scores) => {
    calls.push({ at: Date.now(), n: scores.length });
    publish(scores);
  };
  return { bus, calls };
}

describe('trace backend', () => {
  it('scores value[p, i, s] from the narf trace when noise-aware and the base trace otherwise', async () => {
    const b = (await createTraceBackend({ base: BASE, narf: NARF })) as TraceBackend;
    const t = trace();
    expect(b.info).toMatchObject({ backend: 'trace', steps: 20, rewards: ['pic'], tracePrompts: 100, traceCandidates: 200, maxBatch: 8 });
    await b.create([{ key: 'a', prompt: 4, candidate: 17, seed: 1, text: '' }, { key: 'b', prompt: 9, candidate: 0, seed: 2, text: '' }]);
    await b.advance([{ key: 'a', toStep: 2 }, { key: 'b', toStep: 0 }]);
    const [narf, base] = [await b.score(['a', 'b'], [{ name: 'pic', noiseAware: true }]), await b.score(['a', 'b'], [{ name: 'pic', noiseAware: false }])];
    expect([...(narf[0] as Float64Array)]).toEqual([t.narf[traceOffset(t, 4, 17) + 2], t.narf[traceOffset(t, 9, 0) + 0]]);
    expect([...(base[0] as Float64Array)]).toEqual([t.base[traceOffset(t, 4, 17) + 2], t.base[traceOffset(t, 9, 0) + 0]]);
    // export on one worker, import on another: same step, same scores
    const other = (await createTraceBackend({ base: BASE, narf: NARF, latentBytes: '100' })) as TraceBackend;
    expect(await other.importState('a2', await b.exportState('a'))).toBe(2);
    expect((await other.exportState('a2')).byteLength).toBe(116);
    expect([...((await other.score(['a2'], [{ name: 'pic', noiseAware: true }]))[0] as Float64Array)]).toEqual([t.narf[traceOffset(t, 4, 17) + 2]]);
    await expect(b.advance([{ key: 'a', toStep: 1 }])).rejects.toThrow(/cannot advance/);
    await expect(b.score(['a'], [{ name: 'hps', noiseAware: false }])).rejects.toThrow(/unknown reward/);
  });

  it('the runtime batches candidates of different prompts and jobs, at most max-batch per call', async () => {
    const backend = (await createTraceBackend({ base: BASE, narf: NARF, maxBatch: '3' })) as TraceBackend;
    const sizes: number[] = [];
    const advance = backend.advance.bind(backend);
    backend.advance = (items, signal) => {
      sizes.push(items.length);
      return advance(items, signal);
    };
    const bus = new MemoryScoreBus();
    const got: Score[] = [];
    bus.subscribe((s) => got.push(s));
    const rt = new WorkerRuntime({ id: 'w', backend, bus });
    await rt.take('j1', [0, 1, 2, 3].map((c) => ({ prompt: 0, candidate: c, seed: c, text: '' })));
    await rt.take('j2', [5, 6].map((c) => ({ prompt: 1, candidate: c, seed: c, text: '' })));
    rt.advance('j1', 2, [0, 1, 2, 3].map((c) => ({ prompt: 0, candidate: c })), [{ name: 'pic', noiseAware: true }]);
    rt.advance('j2', 1, [5, 6].map((c) => ({ prompt: 1, candidate: c })), [{ name: 'pic', noiseAware: true }]);
    await rt.idle();
    await bus.flush();
    expect(Math.max(...sizes)).toBe(3);
    // 4 x 3 + 2 x 2 = 16 candidate steps
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(16);
    expect(got.map((s) => `${s.job}/${s.prompt}/${s.candidate}@${s.step}`).sort()).toEqual(['j1/0/0@2', 'j1/0/1@2', 'j1/0/2@2', 'j1/0/3@2', 'j2/1/5@1', 'j2/1/6@1']);
    // asking again for a step already reached republishes the cached score without new work
    rt.advance('j2', 1, [{ prompt: 1, candidate: 5 }], [{ name: 'pic', noiseAware: true }]);
    await bus.flush();
    expect(got.filter((s) => s.candidate === 5)).toHaveLength(2);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(16);
    expect(rt.release('j1')).toBe(4);
    expect(rt.liveCandidates).toBe(2);
    await rt.close();
  });

  it('with a score grid, publishes the scores of every batch done between two grid points together, on the grid', async () => {
    const backend = (await createTraceBackend({ base: BASE, narf: NARF, maxBatch: '3' })) as TraceBackend;
    const { bus, calls } = timedBus();
    const grid = 200;
    // start just past a grid point, so that both batches are done long before the next one
    await new Promise((r) => setTimeout(r, grid - (Date.now() % grid) + 5));
    const rt = new WorkerRuntime({ id: 'w', backend, bus, scoreGridMs: grid });
    await rt.take('j', [0, 1, 2, 3, 4, 5].map((c) => ({ prompt: 0, candidate: c, seed: c, text: '' })));
    rt.advance('j', 2, [0, 1, 2, 3, 4, 5].map((c) => ({ prompt: 0, candidate: c })), [{ name: 'pic', noiseAware: true }]);
    await rt.idle();
    expect(calls).toEqual([]);
    await new Promise((r) => setTimeout(r, grid));
    expect(calls.map((c) => c.n)).toEqual([6]); // two batches of 3, one message
    expect((calls[0]?.at ?? 0) % grid).toBeLessThan(50); // on the grid point (a timer may fire a little late)
    // scores still held when the runtime closes go out then
    rt.advance('j', 3, [{ prompt: 0, candidate: 0 }], [{ name: 'pic', noiseAware: true }]);
    await rt.idle();
    expect(calls).toHaveLength(1);
    await rt.close();
    expect(calls.map((c) => c.n)).toEqual([6, 1]);
  });

  it('with a busy grid, holds scores while the job\'s queued work lasts past its next point, and sends them with later ones', async () => {
    // 0-2 go to step 1 and 3-17 to step 3 (batches of 3, 20 ms a step): when 0-2 are scored, 45 steps of the
    // job are queued, 15 passes (300 ms), past the 200 ms grid's next point and one 50 ms grid more: their scores
    // wait and go with later ones, not alone on the 50 ms grid
    const backend = (await createTraceBackend({ base: BASE, narf: NARF, maxBatch: '3', stepMs: '20' })) as TraceBackend;
    const { bus, calls } = timedBus();
    const rt = new WorkerRuntime({ id: 'w', backend, bus, scoreGridMs: 50, busyScoreGridMs: 200 });
    const all = Array.from({ length: 18 }, (_, c) => c);
    await rt.take('j', all.map((c) => ({ prompt: 0, candidate: c, seed: c, text: '' })));
    rt.advance('j', 1, [0, 1, 2].map((c) => ({ prompt: 0, candidate: c })), [{ name: 'pic', noiseAware: true }]);
    rt.advance('j', 3, all.slice(3).map((c) => ({ prompt: 0, candidate: c })), [{ name: 'pic', noiseAware: true }]);
    await rt.idle();
    await new Promise((r) => setTimeout(r, 300));
    expect(calls.reduce((n, c) => n + c.n, 0)).toBe(18);
    expect(calls[0]?.n).toBeGreaterThan(3);
    await rt.close();
  });

  it('with a busy grid, sends scores on the score grid when the job\'s queued work ends before the busy grid\'s point', async () => {
    // 0-2 reach step 1 and are scored while 3-5 are queued for step 2 (3 steps of 60 ms): 6 steps, 2 passes
    // (120 ms), end long before the 2 s grid's next point, so 0-2's scores go on the 50 ms grid at once, and the
    // coordinator could refill the worker before it runs dry; 3-5's about 120 ms later, in a message of their own
    const backend = (await createTraceBackend({ base: BASE, narf: NARF, maxBatch: '3', stepMs: '60' })) as TraceBackend;
    const { bus, calls } = timedBus();
    await new Promise((r) => setTimeout(r, 2000 - (Date.now() % 2000) + 5));
    const t0 = Date.now();
    const rt = new WorkerRuntime({ id: 'w', backend, bus, scoreGridMs: 50, busyScoreGridMs: 2000 });
    await rt.take('j', [0, 1, 2, 3, 4, 5].map((c) => ({ prompt: 0, candidate: c, seed: c, text: '' })));
    rt.advance('j', 1, [0, 1, 2].map((c) => ({ prompt: 0, candidate: c })), [{ name: 'pic', noiseAware: true }]);
    rt.advance('j', 2, [3, 4, 5].map((c) => ({ prompt: 0, candidate: c })), [{ name: 'pic', noiseAware: true }]);
    await rt.idle();
    await new Promise((r) => setTimeout(r, 100));
    expect(calls.map((c) => c.n)).toEqual([3, 3]);
    // well before the busy grid's point (about 350 ms in on a quiet machine; the suite's load may delay it)
    expect((calls[1]?.at ?? 0) - t0).toBeLessThan(1800);
    await rt.close();
  });
});
