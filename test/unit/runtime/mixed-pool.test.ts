// A pool whose workers run different versions (a rolling upgrade: the coordinator first, then the workers one at a
// time): the coordinator takes from them only what all of them apply, whichever registered first, and never gives
// a candidate whose sampling settings a worker would ignore to that worker.
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import type { BackendInfo } from '../../../core/contract/backend-info.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { ValidationError } from '../../../core/errors.js';
import { createLogger } from '../../../core/log/logger.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { sharedInfo } from '../../../coordinator/workers.js';
import { inProcessFixture } from '../../support/in-process.js';

const limits = { per_candidate: true, width: 32, height: 32, size_step: 0, min_size: 0, max_size: 0, max_steps: 1000, guidance: 4, negative_prompt: '', guidance_doubles: true };
const older: BackendInfo = { backend: 'onnx', steps: 20, maxBatch: 4, rewards: ['align'], cost: { denoise: 10, verify: 1 }, tracePrompts: 0, traceCandidates: 0, renders: false, model: 'm' };
const newer: BackendInfo = { ...older, sampling: limits };
const flat: BackendInfo = { ...older, sampling: { ...limits, guidance_doubles: false, max_steps: 50 } };

describe('what a pool of mixed versions applies', () => {
  it('is what all of its workers apply, in any order of registration', () => {
    expect(sharedInfo(newer)).toEqual(newer);
    expect(sharedInfo(newer, older)).toEqual(older);
    expect(sharedInfo(older, newer)).toEqual(older);
    const both = { ...limits, guidance_doubles: false, max_steps: 50 };
    expect(sharedInfo(newer, flat).sampling).toEqual(both);
    expect(sharedInfo(flat, newer).sampling).toEqual(both);
    expect(sharedInfo(newer, { ...newer, sampling: { ...limits, per_candidate: false } }).sampling?.per_candidate).toBe(false);
    // max_steps 0 = not said: the lowest of those said, 0 when none is
    const unsaid: BackendInfo = { ...newer, sampling: { ...limits, max_steps: 0 } };
    expect(sharedInfo(unsaid, flat).sampling?.max_steps).toBe(50);
    expect(sharedInfo(unsaid, unsaid).sampling?.max_steps).toBe(0);
  });
});

describe('a coordinator over a pool of mixed versions', () => {
  const { bus, coordinator, join } = inProcessFixture();

  const texts = Array.from({ length: 8 }, (_, i) => `prompt ${i}`);

  it('refuses sampling settings while a worker that ignores them is registered, and prices guidance as the flat workers do', async () => {
    const c = coordinator(new Coordinator(bus));
    await join(c, 'newer', newer);
    await join(c, 'flat', flat);
    // workers at guidance 4 charge 10 a step; at guidance 1 the newer ones would charge 5, the flat ones do not
    const spec = c.submit({ texts: ['a cat'], candidates: 4, schedule: [...PAPER_SCHEDULE], sampling: { guidance: 1 } }).spec;
    expect(spec.cost.denoise).toBe(10);
    expect(() => c.submit({ texts: ['a cat'], candidates: 4, schedule: [...PAPER_SCHEDULE], sampling: { steps: 60 } })).toThrow('sampling.steps: got 60; allowed: an integer in [2, 50]');
    await join(c, 'older', older);
    expect(() => c.submit({ texts: ['a cat'], candidates: 4, schedule: [...PAPER_SCHEDULE], sampling: { guidance: 3 } })).toThrow(ValidationError);
    expect(() => c.submit({ texts: ['a cat'], candidates: 4, schedule: [...PAPER_SCHEDULE], sampling: { guidance: 3 } })).toThrow('sampling: set for the onnx backend, whose workers do not apply sampling settings');
  });

  it('gives no candidate of a job that sets sampling settings to a worker that would ignore them', async () => {
    const c = coordinator(new Coordinator(bus));
    const capable = await join(c, 'newer', newer);
    const guided = c.submit({ texts, candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 1, sampling: { guidance: 6 } });
    const ignoring = await join(c, 'older', older);
    const plain = c.submit({ texts, candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 2 });
    await Promise.all([c.whenEnded(guided.id), c.whenEnded(plain.id)]);
    expect([guided.state, plain.state]).toEqual(['done', 'done']);
    expect(ignoring.took.filter((j) => j === guided.id)).toEqual([]);
    expect(capable.took.filter((j) => j === guided.id)).toHaveLength(8 * 20);
    // the older worker did take work: the plain job's
    expect(ignoring.took.filter((j) => j === plain.id).length).toBeGreaterThan(0);
  });

  it('tells the job and the log when a job that sets settings waits for a worker that applies them, and when it goes on', async () => {
    const lines: string[] = [];
    const out = new Writable({ write: (chunk: Buffer, _enc, done) => void (lines.push(String(chunk)), done()) });
    const c = coordinator(new Coordinator(bus, undefined, { log: createLogger({ process: 'test', destination: out, format: 'json' }) }));
    const said = (msg: string): Record<string, unknown>[] => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l.msg).startsWith(msg));
    const lost = await join(c, 'newer', newer);
    lost.gone = true;
    const guided = c.submit({ texts, candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 1, sampling: { guidance: 6 } });
    const waits: unknown[] = [];
    c.watch(guided.id, (e) => void (e.waiting && waits.push(e.waiting)));
    // the only worker that applies the settings is lost at its first call; an older one registers
    const ignoring = await join(c, 'older', older);
    const why = `it sets sampling settings and no registered worker of pool ${guided.pool} applies them (older workers would run their own): start or upgrade one`;
    await vi.waitFor(() => expect(waits.at(-1)).toEqual({ waiting: true, pool: guided.pool, reason: why }), { timeout: 10_000 });
    expect(said('job waits').at(-1)).toMatchObject({ level: 'warn', job: guided.id, msg: `job waits: ${why}` });
    expect(c.list().find((j) => j.job === guided.id)?.waiting).toBe(why);
    const back = await join(c, 'newer-2', newer);
    await c.whenEnded(guided.id);
    expect(guided.state).toBe('done');
    expect(waits.at(-1)).toEqual({ waiting: false, pool: guided.pool, reason: '' });
    expect(said('job continues')).toMatchObject([{ level: 'info', job: guided.id }]);
    // one event per change (between the loss and the older worker's registration a sweep may have seen none)
    expect(waits.length).toBeLessThanOrEqual(3);
    expect(c.list().find((j) => j.job === guided.id)?.waiting).toBe('');
    expect(ignoring.took).toEqual([]);
    expect(back.took).toHaveLength(8 * 20);
  });
});
