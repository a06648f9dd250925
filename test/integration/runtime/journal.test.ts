import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JetStreamJournal } from '../../../coordinator/journal/jetstream.js';
import { JOURNAL_SCHEMA, stageRecord, stageScores, type JournalRecord } from '../../../coordinator/journal/records.js';
import type { Ledger } from '../../../core/engine/ledger.js';
import { TestCluster } from './cluster.js';

// The job journal in a real nats-server with JetStream (file store in a temp dir): records survive a server
// restart, records appended while the server is down are written once it is back, resends are dropped by
// message id, a journal of another schema version is refused with its reason, compaction keeps spec and end.
const v = JOURNAL_SCHEMA;
const ledger = (denoise: number): Ledger => ({ candidates: 2, denoise_steps: denoise, reward_calls: { pic: 2 }, cost: denoise * 9.9 + 2.4, stages: [] });
const spec = (job: string, createdAt: number): JournalRecord => ({ v, kind: 'spec', job, requestId: `req-${job}`, createdAt, epoch: 'e1', request: { prompts: [1, 2], candidates: 2 } });
const event = (job: string, seq: number): JournalRecord => ({ v, kind: 'event', job, seq, event: { budget: { prompts_done: seq } } });

describe('JetStream journal', () => {
  const cluster = new TestCluster();
  const conns: NatsConnection[] = [];
  const open = async (): Promise<JetStreamJournal> => {
    const nc = await connect({ servers: cluster.natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    conns.push(nc);
    return JetStreamJournal.open(nc, { prefix: cluster.prefix });
  };
  beforeAll(() => cluster.startNats());
  afterAll(async () => {
    await Promise.all(conns.map((nc) => nc.close()));
    await cluster.close();
  });

  it('stores a job as written and reads it back from a fresh connection', async () => {
    const journal = await open();
    journal.append(spec('ja', 1));
    journal.append(event('ja', 1));
    journal.append(stageRecord('ja', 0, 0, 2, [1, 0], { pic: [Number.POSITIVE_INFINITY, 0.5] }, ledger(6)));
    journal.append(event('ja', 2));
    journal.append({ v, kind: 'prompt', job: 'ja', position: 0, result: { prompt: 1, winner: { candidate: 0 } }, ledger: ledger(12) });
    journal.append(stageRecord('ja', 1, 0, 2, [3, 2], { pic: [Number.NaN, 0.1] }, ledger(6)));
    journal.append(event('ja', 2)); // a duplicate (same message id): dropped by the server
    expect(await journal.flush(5000)).toBe(true);
    const loaded = await (await open()).load();
    expect(loaded.refused).toEqual([]);
    expect(loaded.jobs).toHaveLength(1);
    const ja = loaded.jobs[0]!;
    expect(ja.spec).toEqual(spec('ja', 1));
    expect(ja.events.map((e) => e.seq)).toEqual([1, 2]);
    expect([...ja.prompts.keys()]).toEqual([0]);
    expect([...ja.stages.keys()]).toEqual([1]);
    expect(stageScores(ja.stages.get(1)!)).toEqual({ pic: [Number.NaN, 0.1] });
  });

  it('keeps everything through a nats-server kill -9 and restart; appends made while it is down are written after', async () => {
    const journal = await open();
    journal.append(spec('jb', 2));
    journal.append(event('jb', 1));
    expect(await journal.flush(5000)).toBe(true);
    const restarted = cluster.restartNats(1000);
    await new Promise((r) => setTimeout(r, 200)); // the server is down now
    journal.append(event('jb', 2));
    journal.append({ v, kind: 'end', job: 'jb', state: 'done', error: '' });
    expect(await journal.flush(300)).toBe(false); // cannot be stored while the server is away
    await restarted;
    expect(await journal.flush(10_000)).toBe(true);
    const loaded = await (await open()).load();
    expect(loaded.jobs.map((j) => j.spec.job)).toEqual(['ja', 'jb']);
    const jb = loaded.jobs[1]!;
    expect(jb.events.map((e) => e.seq)).toEqual([1, 2]);
    expect(jb.end).toEqual({ v, kind: 'end', job: 'jb', state: 'done', error: '' });
  });

  it('refuses a job written with another schema version, naming it and the reason, and still loads the rest', async () => {
    const nc = conns[conns.length - 1]!;
    await nc.jetstream().publish(`${cluster.prefix}.journal.jc.spec`, new TextEncoder().encode(JSON.stringify({ ...spec('jc', 3), v: JOURNAL_SCHEMA + 1 })));
    const loaded = await (await open()).load();
    expect(loaded.jobs.map((j) => j.spec.job)).toEqual(['ja', 'jb']);
    expect(loaded.refused.map((e) => e.message)).toEqual([`job jc: journal record schema ${JOURNAL_SCHEMA + 1}, this coordinator reads schema 1 to ${JOURNAL_SCHEMA}; upgrade the coordinator before resuming it (README: upgrade order)`]);
  });

  it('stores records of one job and kind together, a few messages for many records, and reads back each', async () => {
    const journal = await open();
    const before = (await conns[0]!.jetstreamManager()).streams.info(journal.stream);
    journal.append(spec('jd', 4));
    for (let seq = 1; seq <= 300; seq++) journal.append(event('jd', seq));
    expect(await journal.flush(5000)).toBe(true);
    const after = await (await conns[0]!.jetstreamManager()).streams.info(journal.stream);
    expect(after.state.messages - (await before).state.messages).toBeLessThanOrEqual(3);
    const jd = (await (await open()).load()).jobs.find((j) => j.spec.job === 'jd')!;
    expect(jd.events.map((e) => e.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it('compaction keeps an ended job\'s spec and end only', async () => {
    const journal = await open();
    await journal.compact('jb');
    const jb = (await journal.load()).jobs.find((j) => j.spec.job === 'jb')!;
    expect(jb.events).toEqual([]);
    expect(jb.end?.state).toBe('done');
  });
});
