// The result store on a real nats-server whose max_payload is lowered to 16 KiB, so a result of a few hundred
// KiB takes the same paths (pages, chunks below max_payload) a 20 MiB one takes under the default 1 MiB.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsResultStore, RESULT_PAGE_PROMPTS } from '../../../core/bus/result-store.js';
import { startNats, waitFor, type Proc } from '../../support/procs.js';

const MAX_PAYLOAD = 16 * 1024;
const prompt = (i: number) => ({ prompt: i, position: i, winner: { candidate: i % 97, seed: i * 7, rewards: { pic: i / 3 } }, explored: Array.from({ length: 60 }, (_, c) => c * 3 + (i % 3)) });
const result = (job: string, n: number) => ({ summary: { job, state: 'done', error: '' }, prompts: Array.from({ length: n }, (_, i) => prompt(i)) });

describe('NatsResultStore (nats-server with max_payload 16 KiB)', () => {
  let dir = '';
  let nats: Proc;
  let nc: NatsConnection;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ttsnap-store-'));
    const started = await startNats(dir, { maxPayload: MAX_PAYLOAD });
    nats = started.proc;
    nc = await connect({ servers: started.url });
  });
  afterAll(async () => {
    await nc?.close();
    nats?.child.kill('SIGKILL');
    await nats?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores a result many times max_payload and reads any page of it back exactly', async () => {
    const store = await NatsResultStore.open(nc, 'big');
    const r = result('j-big', 1234);
    expect(JSON.stringify(r).length).toBeGreaterThan(20 * MAX_PAYLOAD);
    await store.put('j-big', r);
    const all = await store.get('j-big', 0, 10_000);
    expect(all?.total).toBe(1234);
    expect(all?.summary).toEqual(r.summary);
    expect(all?.prompts).toEqual(r.prompts);
    // a page straddling two stored pages, and the tail
    const mid = await store.get('j-big', RESULT_PAGE_PROMPTS - 3, 10);
    expect(mid?.prompts).toEqual(r.prompts.slice(RESULT_PAGE_PROMPTS - 3, RESULT_PAGE_PROMPTS + 7));
    expect((await store.get('j-big', 1230, 1000))?.prompts).toEqual(r.prompts.slice(1230));
    expect(await store.get('nope', 0, 10)).toBeNull();
  });

  it('deletes a result whole, and says when there was none', async () => {
    const store = await NatsResultStore.open(nc, 'del');
    await store.put('j1', result('j1', 700));
    expect(await store.delete('j1')).toBe(true);
    expect(await store.get('j1', 0, 10)).toBeNull();
    expect(await store.delete('j1')).toBe(false);
  });

  it('lists the stored results newest first, by their listing, or by what the summary says when stored without one', async () => {
    const store = await NatsResultStore.open(nc, 'list');
    expect(await store.list(10, new Set())).toEqual([]);
    const listing = (job: string) => ({ job, state: 'done', prompts: 3, prompts_done: 3, candidates_per_prompt: 8, cost: 1.5, label: `label ${job}`, pool: 'p@1', store_error: '', waiting: '' });
    await store.put('old', { ...result('old', 2), summary: { job: 'old', state: 'cancelled', ledger: { cost: 0.25 }, provenance: { candidates_per_prompt: 4 } } });
    for (const job of ['j1', 'j2', 'j3']) await store.put(job, { ...result(job, 3), listing: listing(job) });
    await store.delete('j2');
    expect(await store.list(10, new Set())).toEqual([
      { job: 'j3', listing: listing('j3') },
      { job: 'j1', listing: listing('j1') },
      { job: 'old', listing: { job: 'old', state: 'cancelled', prompts: 2, prompts_done: 2, candidates_per_prompt: 4, cost: 0.25 } },
    ]);
    // at most `limit`, leaving out the jobs a coordinator holds itself
    expect((await store.list(1, new Set(['j3']))).map((l) => l.job)).toEqual(['j1']);
  });

  it('under a size cap drops the oldest results first; a result larger than the cap is an error', async () => {
    const one = JSON.stringify(result('x', 300).prompts).length;
    const store = await NatsResultStore.open(nc, 'cap', { maxBytes: Math.round(2.5 * one) });
    for (const job of ['a', 'b', 'c']) await store.put(job, result(job, 300));
    expect(await store.get('a', 0, 1)).toBeNull();
    expect((await store.get('b', 0, 1))?.total).toBe(300);
    expect((await store.get('c', 0, 1))?.total).toBe(300);
    await expect(store.put('huge', result('huge', 1000))).rejects.toThrow();
    // the refused put left nothing half-written behind
    expect(await store.get('huge', 0, 1)).toBeNull();
    expect((await store.get('c', 0, 1))?.total).toBe(300);
  });
});

describe('NatsResultStore lists from an index of its bucket (real nats-server)', () => {
  const listing = (job: string) => ({ job, state: 'done', prompts: 1, prompts_done: 1, candidates_per_prompt: 8, cost: 1 });
  const stored = (job: string) => ({ ...result(job, 1), listing: listing(job) });
  const jobs = async (store: NatsResultStore): Promise<string[]> => (await store.list(100, new Set())).map((l) => l.job);
  let dir = '';
  let nats: Proc;
  let url = '';
  const conns: NatsConnection[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ttsnap-store-index-'));
    ({ proc: nats, url } = await startNats(dir));
  });
  afterAll(async () => {
    for (const c of conns) await c.close().catch(() => {});
    nats?.child.kill('SIGKILL');
    await nats?.exited;
    rmSync(dir, { recursive: true, force: true });
  });
  const open = async (prefix: string): Promise<NatsResultStore> => {
    const nc = await connect({ servers: url, reconnectTimeWait: 200, maxReconnectAttempts: -1 });
    conns.push(nc);
    return NatsResultStore.open(nc, prefix);
  };

  it('lists, at once, what another store on the bucket (another coordinator) stored or deleted, and what was there before it opened', async () => {
    const a = await open('shared');
    await a.put('before', stored('before'));
    const b = await open('shared');
    expect(await jobs(b)).toEqual(['before']);
    await a.put('j1', stored('j1'));
    // no wait: the list asks the stream for its latest change and waits for the index to have it
    expect(await jobs(b)).toEqual(['j1', 'before']);
    expect(await b.delete('before')).toBe(true);
    expect(await jobs(a)).toEqual(['j1']);
    const c = await open('shared');
    expect(await c.list(100, new Set())).toEqual([{ job: 'j1', listing: listing('j1') }]);
  });

  it('forgets what JetStream dropped by itself: a result past the retention is no longer listed', async () => {
    const nc = await connect({ servers: url });
    conns.push(nc);
    // kept 2 s: the stream drops the objects without a message saying so
    const store = await NatsResultStore.open(nc, 'ttl', { ttlDays: 2 / 86_400 });
    await store.put('t1', stored('t1'));
    expect(await jobs(store)).toEqual(['t1']);
    await waitFor('t1 dropped by the stream', async () => ((await store.get('t1', 0, 1)) === null ? true : undefined), 10_000, 200);
    expect(await jobs(store)).toEqual([]);
    await store.put('t2', stored('t2'));
    expect(await jobs(store)).toEqual(['t2']);
  });

  it('follows its bucket across a nats-server kill -9 and restart: what is stored after is listed', async () => {
    const a = await open('restart');
    await a.put('r1', stored('r1'));
    expect(await jobs(a)).toEqual(['r1']);
    nats.child.kill('SIGKILL');
    await nats.exited;
    ({ proc: nats } = await startNats(dir, { port: Number(new URL(url).port) }));
    // the store's connection comes back by itself; a put may fail while it does
    await waitFor('a put after the restart', () => a.put('r2', stored('r2')).then(() => true, () => undefined), 20_000);
    // within 5 s, not after the 10 s a list waits for a lagging index: the reconnect started a new watch at once
    // (the server lost the old one's consumer, which nats.js notices only after missed heartbeats)
    const late = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 5_000).unref());
    expect(await Promise.race([jobs(a), late])).toEqual(['r2', 'r1']);
    expect(await a.delete('r1')).toBe(true);
    expect(await jobs(a)).toEqual(['r2']);
  });
});
