import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeScores, encodeScores } from '../../../core/bus/nats.js';
import { formatNpy } from '../../../core/trace/npy.js';
import { createTraceBackend, type TraceBackend } from '../../../worker/backends/trace.js';
import { InjectedFault, parseTraceFaults } from '../../../worker/backends/trace-faults.js';

let dir = '';
let nanFile = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ttsnap-faults-'));
  nanFile = join(dir, 'broken_base.npy');
  // 1 prompt, 3 candidates, 2 steps ([p, c, s] order): candidate 1 is NaN at step 0, candidate 2 +Inf at step 1
  writeFileSync(nanFile, formatNpy({ shape: [1, 3, 2], data: Float32Array.from([0.5, 0.6, Number.NaN, 0.1, 0.2, Number.POSITIVE_INFINITY]) }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pic = [{ name: 'pic', noiseAware: false }];

async function backend(extra: Record<string, string> = {}): Promise<TraceBackend> {
  const b = (await createTraceBackend({ base: nanFile, reward: 'pic', allowNonfinite: 'true', ...extra })) as TraceBackend;
  await b.create([0, 1, 2].map((i) => ({ key: `c${i}`, prompt: 0, candidate: i, seed: i, text: '' })));
  return b;
}

describe('trace backend: non-finite rewards', () => {
  it('are refused by default, naming the file and position', async () => {
    await expect(createTraceBackend({ base: nanFile })).rejects.toThrow(/broken_base\.npy: holds NaN at \[0, 1, 0\]; expected finite rewards/);
  });
  it('replay with --allow-nonfinite', async () => {
    const b = await backend();
    await b.advance([0, 1, 2].map((i) => ({ key: `c${i}`, toStep: 0 })));
    expect([...(await b.score(['c0', 'c1', 'c2'], pic))[0]!]).toEqual([0.5, Number.NaN, Math.fround(0.2)]);
    await b.advance([0, 1, 2].map((i) => ({ key: `c${i}`, toStep: 1 })));
    expect([...(await b.score(['c0', 'c1', 'c2'], pic))[0]!]).toEqual([Math.fround(0.6), Math.fround(0.1), Number.POSITIVE_INFINITY]);
  });
  it('cross NATS as values, not as a dropped message', () => {
    const scores = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0.25].map((value, i) => ({ job: 'j1', prompt: 3, candidate: i, step: 2, reward: 'pic', value, worker: 'w1', busy_s: 1.5 }));
    const [msg, ...more] = encodeScores('tt', scores);
    expect(more).toEqual([]);
    expect(msg?.subject).toBe('tt.scores.w1.j1');
    expect(decodeScores(msg?.subject ?? '', msg?.data ?? new Uint8Array(), 'tt')).toEqual(scores);
    expect(decodeScores('tt.scores.w1.j1.3.7.2.pic', new TextEncoder().encode('{"v":"nan"}'), 'tt')).toBeNull();
    expect(decodeScores('tt.scores.w1.j1', new TextEncoder().encode('{"r":["pic"],"s":[[3,7,2,0,"nan",0]]}'), 'tt')).toBeNull();
  });
});

describe('trace backend: injected faults', () => {
  it('parses the spec and names the flag on bad input', () => {
    expect(parseTraceFaults('hang-after=3')).toEqual({ hangAfter: 3, throwP: 0, seed: 1 });
    expect(parseTraceFaults('throw=0.25, seed=9')).toEqual({ hangAfter: null, throwP: 0.25, seed: 9 });
    for (const bad of ['throw=2', 'hang-after=-1', 'hang-after=1.5', 'explode=1', 'throw']) {
      expect(() => parseTraceFaults(bad)).toThrow(`--fault: cannot read '${bad}'; allowed: comma-separated hang-after=N`);
    }
  });
  it('throw=1 fails every call with InjectedFault', async () => {
    const b = await backend({ fault: 'throw=1' });
    await expect(b.advance([{ key: 'c0', toStep: 0 }])).rejects.toThrow(InjectedFault);
    await expect(b.score(['c0'], pic)).rejects.toThrow('injected fault: score call 2 throws');
  });
  it('throw=P fails a seeded, repeatable share of calls', async () => {
    const outcomes = async (): Promise<boolean[]> => {
      const b = await backend({ fault: 'throw=0.5,seed=4' });
      const out: boolean[] = [];
      for (let i = 0; i < 64; i++) out.push(await b.score([], pic).then(() => true, () => false));
      return out;
    };
    const [a, again] = [await outcomes(), await outcomes()];
    expect(a).toEqual(again);
    const failed = a.filter((ok) => !ok).length;
    expect(failed).toBeGreaterThan(16);
    expect(failed).toBeLessThan(48);
  });
  it('hang-after=N answers N calls, then hangs through an abort until close', async () => {
    const b = await backend({ fault: 'hang-after=2' });
    await b.advance([{ key: 'c0', toStep: 0 }]);
    expect((await b.score(['c0'], pic))[0]![0]).toBe(0.5);
    const abort = new AbortController();
    let settled = false;
    const hung = b.advance([{ key: 'c0', toStep: 1 }], abort.signal).finally(() => (settled = true));
    abort.abort();
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    await b.close();
    await expect(hung).rejects.toThrow('closed during a hung call');
  });
});
