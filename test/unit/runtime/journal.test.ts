import { describe, expect, it } from 'vitest';
import { decodeRecord, decodeRecords, encodeRecord, encodeRecords, foldJournal, JOURNAL_SCHEMA, journaledPool, JournalVersionError, recordJson, specRecords, stageRecord, stageScores, type JournalRecord } from '../../../coordinator/journal/records.js';
import { MemoryJournalStore } from '../../../coordinator/journal/store.js';
import type { Ledger } from '../../../core/engine/ledger.js';

const v = JOURNAL_SCHEMA;
const ledger = (denoise: number): Ledger => ({ candidates: 4, denoise_steps: denoise, reward_calls: { pic: 4 }, cost: denoise * 9.9 + 4.8, stages: [{ step: 2, denoise_steps: denoise, reward_calls: { pic: 4 }, cost: denoise * 9.9 + 4.8 }] });
const spec: JournalRecord = { v, kind: 'spec', job: 'j1', requestId: 'r-7', createdAt: 1000, epoch: 'e1', request: { prompts: [3, 4], candidates: 4, seed: 2 } };

describe('journal records', () => {
  it('round-trip as JSON, non-finite scores included, images left out', () => {
    const stage = stageRecord('j1', 0, 0, 2, [5, 1], { pic: [Number.NaN, 0.25] }, ledger(12));
    expect(decodeRecord(encodeRecord(stage))).toEqual(stage);
    expect(stageScores(stage)).toEqual({ pic: [Number.NaN, 0.25] });
    const prompt: JournalRecord = { v, kind: 'prompt', job: 'j1', position: 1, result: { prompt: 4, winner: { candidate: 2, image: Buffer.from([1, 2]) } }, ledger: ledger(30) };
    expect(decodeRecord(encodeRecord(prompt))).toEqual({ ...prompt, result: { prompt: 4, winner: { candidate: 2 } } });
    // a top-k entry's image too; a result without any is written as it is
    const topK: JournalRecord = { ...prompt, result: { prompt: 4, winner: { candidate: 2 }, top_k: [{ candidate: 2 }, { candidate: 1, image: new Uint8Array([3]) }] } };
    expect(decodeRecord(encodeRecord(topK))).toEqual({ ...prompt, result: { prompt: 4, winner: { candidate: 2 }, top_k: [{ candidate: 2 }, { candidate: 1 }] } });
    const plain: JournalRecord = { ...prompt, result: { prompt: 4, winner: { candidate: 2, rewards: { pic: 0.5 } }, top_k: [{ candidate: 2 }], explored: [0, 1, 2] } };
    expect(decodeRecord(encodeRecord(plain))).toEqual(plain);
  });
  it('refuses another schema version with the job and the reason; malformed records are null', () => {
    const newer = new TextEncoder().encode(JSON.stringify({ ...spec, v: 3 }));
    expect(() => decodeRecord(newer)).toThrow(JournalVersionError);
    expect(() => decodeRecord(newer)).toThrow('job j1: journal record schema 3, this coordinator reads schema 1 to 2; upgrade the coordinator before resuming it');
    // schema 1 (a record a message, written before several records shared one) is read as it was
    expect(decodeRecord(new TextEncoder().encode(JSON.stringify({ ...spec, v: 1 })))).toEqual({ ...spec, v: 1 });
    expect(decodeRecord(new TextEncoder().encode('{"v":1,"kind":"stage","job":"j1"}'))).toBeNull();
    expect(decodeRecord(new TextEncoder().encode('not json'))).toBeNull();
    expect(decodeRecord(new TextEncoder().encode('{"v":1,"kind":"mystery","job":"j1"}'))).toBeNull();
  });
});

describe('a message of several records', () => {
  it('carries them one a line, newlines inside strings escaped; each is parsed, or refused, on its own', () => {
    const text: JournalRecord = { v, kind: 'prompt', job: 'j1', position: 0, result: { prompt: 3, text: 'two\nlines' }, ledger: ledger(30) };
    const event: JournalRecord = { v, kind: 'event', job: 'j1', seq: 4, event: { budget: { prompts_done: 1 } } };
    const newer = JSON.stringify({ ...event, seq: 5, v: 3 });
    const data = encodeRecords([recordJson(text), recordJson(event), newer, 'not json']);
    const [a, b, c, d] = decodeRecords(data);
    expect([a, b]).toEqual([text, event]);
    expect(c).toBeInstanceOf(JournalVersionError);
    expect(d).toBeNull();
  });
});

describe('foldJournal', () => {
  it('keeps each prompt\'s latest stage, drops stages of finished prompts, orders and dedups events', () => {
    const records: JournalRecord[] = [
      spec,
      { v, kind: 'event', job: 'j1', seq: 2, event: { stage: {} } },
      { v, kind: 'event', job: 'j1', seq: 1, event: { stage: {} } },
      stageRecord('j1', 0, 0, 2, [5, 1], { pic: [0.9, 0.8] }, ledger(12)),
      stageRecord('j1', 1, 0, 2, [2, 3], { pic: [0.7, 0.6] }, ledger(12)),
      stageRecord('j1', 1, 1, 6, [3], { pic: [0.65] }, ledger(20)),
      stageRecord('j1', 1, 0, 2, [2, 3], { pic: [0.7, 0.6] }, ledger(12)), // a resend after a lost ack
      { v, kind: 'prompt', job: 'j1', position: 0, result: { prompt: 3 }, ledger: ledger(30) },
      { v, kind: 'event', job: 'j1', seq: 2, event: { stage: {} } },
    ];
    const j = foldJournal(records);
    expect(j?.spec).toEqual(spec);
    expect([...(j?.stages.keys() ?? [])]).toEqual([1]);
    expect(j?.stages.get(1)).toMatchObject({ stage: 1, kept: [3] });
    expect([...(j?.prompts.keys() ?? [])]).toEqual([0]);
    expect(j?.events.map((e) => e.seq)).toEqual([1, 2]);
    expect(j?.end).toBeNull();
    expect(foldJournal([{ v, kind: 'end', job: 'j1', state: 'done', error: '' }])).toBeNull();
  });
});

describe('MemoryJournalStore', () => {
  it('loads jobs by creation, and compaction keeps only spec and end', async () => {
    const store = new MemoryJournalStore();
    store.append({ ...spec, job: 'j2', createdAt: 2000 });
    store.append(spec);
    store.append(stageRecord('j1', 0, 0, 2, [1], { pic: [1] }, ledger(4)));
    store.append({ v, kind: 'end', job: 'j1', state: 'done', error: '' });
    const loaded = await store.load();
    expect(loaded.jobs.map((j) => j.spec.job)).toEqual(['j1', 'j2']);
    expect(loaded.jobs[0]?.end?.state).toBe('done');
    await store.compact('j1');
    expect(store.records.map((r) => `${r.job}:${r.kind}`)).toEqual(['j2:spec', 'j1:spec', 'j1:end']);
  });
});

describe('resuming a job whose result is already stored', () => {
  it('does not run it again and ends its journal (the end record was lost, the result was not)', async () => {
    const { Coordinator } = await import('../../../coordinator/coordinator.js');
    const { MemoryScoreBus } = await import('../../../core/bus/memory.js');
    const journal = new MemoryJournalStore();
    journal.append(spec);
    journal.append({ v, kind: 'spec', job: 'j2', requestId: 'r-8', createdAt: 1001, epoch: 'e1', request: { prompts: [5], candidates: 4 } });
    const stored = new Map([['j1', { summary: { job: 'j1', state: 'done', error: '' }, prompts: [{ prompt: 3 }, { prompt: 4 }], total: 2 }]]);
    const j1 = { job: 'j1', state: 'done', prompts: 2, prompts_done: 2, candidates_per_prompt: 4, cost: 3, label: 'first', pool: 't@1', store_error: '', waiting: '' };
    let listFails = false;
    const asked: { limit: number; except: string[] }[] = [];
    const results = {
      put: async () => {},
      get: async (job: string) => stored.get(job) ?? null,
      delete: async () => false,
      list: async (limit: number, except: ReadonlySet<string>) => {
        asked.push({ limit, except: [...except] });
        if (listFails) throw new Error('no JetStream');
        return [{ job: 'j1', listing: j1 }];
      },
    };
    const coordinator = new Coordinator(new MemoryScoreBus(), undefined, { journal, results });
    try {
      expect(await coordinator.resume()).toEqual({ running: ['j2'], refused: [] });
      expect(journal.records.filter((r) => r.kind === 'end')).toEqual([{ v, kind: 'end', job: 'j1', state: 'done', error: '' }]);
      expect((await coordinator.resultPage('j1', 0, 10)).total_prompts).toBe(2);
      // ListJobs: j1 ended before this coordinator started (j2, journaled without its pool, is rebuilt only when
      // a worker registers): the store's listing shows it, from the store alone
      expect(await coordinator.listJobs(10)).toEqual([j1]);
      expect(asked).toEqual([{ limit: 10, except: [] }]);
      // a store that cannot be read leaves its jobs out: the list does not fail for it
      listFails = true;
      expect(await coordinator.listJobs(10)).toEqual([]);
    } finally {
      await coordinator.close();
    }
  });
});

describe('a resubmission of a job that ended before the coordinator started', () => {
  it('gets that job back while its result is stored, not a new one; anything else is left to submit', async () => {
    const { Coordinator } = await import('../../../coordinator/coordinator.js');
    const { MemoryScoreBus } = await import('../../../core/bus/memory.js');
    const journal = new MemoryJournalStore();
    journal.append(spec);
    journal.append({ v, kind: 'end', job: 'j1', state: 'done', error: '' });
    const stored = new Map([['j1', { summary: { job: 'j1', state: 'done', error: '', provenance: { candidates_per_prompt: 4 } }, prompts: [], total: 2 }]]);
    const results = { put: async () => {}, get: async (job: string) => stored.get(job) ?? null, delete: async () => false, list: async () => [] };
    const coordinator = new Coordinator(new MemoryScoreBus(), undefined, { journal, results });
    try {
      expect(await coordinator.resume()).toEqual({ running: [], refused: [] });
      expect(await coordinator.endedByRequest({ request_id: 'r-7', prompts: [3, 4], candidates: 4 })).toEqual({ job: 'j1', candidates_per_prompt: 4, previews: false });
      expect(await coordinator.endedByRequest({ request_id: 'r-7', previews: true })).toMatchObject({ job: 'j1', previews: true });
      expect(await coordinator.endedByRequest({ request_id: 'r-unknown' })).toBeNull();
      expect(await coordinator.endedByRequest({})).toBeNull();
      // its result expired (or was deleted): the request id alone does not stand for a job any more
      stored.clear();
      expect(await coordinator.endedByRequest({ request_id: 'r-7' })).toBeNull();
    } finally {
      await coordinator.close();
    }
  });
});

describe('the backend a journaled job was compiled with', () => {
  it('travels in its spec record and back; an older record, or one the coordinator cannot use, has none', () => {
    const info = { backend: 'trace', steps: 20, maxBatch: 4, rewards: ['pic'], cost: { denoise: 1, verify: 0.5 }, tracePrompts: 50, traceCandidates: 64, renders: false, model: 't' };
    const [head] = specRecords('j1', 'r-7', 1000, 'e1', { prompts: [3, 4], candidates: 4 }, { id: 't@0123abcd', info });
    const back = decodeRecord(encodeRecord(head as JournalRecord));
    expect(back?.kind === 'spec' ? journaledPool(back) : undefined).toEqual({ id: 't@0123abcd', info });
    expect(spec.kind === 'spec' ? journaledPool(spec) : undefined).toBeNull();
    const broken: JournalRecord = { ...spec, kind: 'spec', requestId: 'r-7', createdAt: 1000, epoch: 'e1', request: {}, pool: { id: 'p', info: { backend: 'trace', steps: 1 } } };
    expect(journaledPool(broken)).toBeNull();
  });
});

