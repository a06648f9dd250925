import { describe, expect, it } from 'vitest';
import { UPLOAD_CHUNK_PROMPTS, uploadMessages } from '../../../coordinator/client.js';
import { JobUpload } from '../../../coordinator/job-upload.js';
import { LIMITS } from '../../../coordinator/job-spec.js';
import { encodeRecord, foldJournal, JOURNAL_SCHEMA, specRecords } from '../../../coordinator/journal/records.js';
import { ValidationError } from '../../../core/errors.js';
import type { SubmitJobRequest__Output } from '../../../core/generated/ttsnap/v1/SubmitJobRequest.js';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const asReceived = (m: object) => ({ prompts: [], texts: [], prompt_settings: [], ...m }) as unknown as SubmitJobRequest__Output;

describe('SubmitJobUpload messages', () => {
  it('100k prompts go as 100 messages of 1,000: the settings in the first, and reassemble to the request', () => {
    const req = { prompts: range(100_000), candidates: 4, seed: 9, policy: 'bon', label: 'big' };
    const messages = uploadMessages(req);
    expect(messages).toHaveLength(100_000 / UPLOAD_CHUNK_PROMPTS);
    expect(messages.every((m) => (m.prompts?.length ?? 0) === UPLOAD_CHUNK_PROMPTS)).toBe(true);
    expect(messages[0]).toMatchObject({ candidates: 4, seed: 9, policy: 'bon', label: 'big' });
    expect(messages[1]).toEqual({ prompts: range(2000).slice(1000), texts: [], prompt_settings: [] });
    const upload = new JobUpload();
    for (const m of messages) upload.add(asReceived(m));
    expect(upload.request()).toEqual({ ...req, texts: [], prompt_settings: [] });
  });

  it('keeps per-prompt settings aligned with their texts across messages', () => {
    const texts = range(2500).map((i) => `prompt ${i}`);
    const settings = texts.map((_, i) => ({ seed: i, has_seed: true }));
    const upload = new JobUpload();
    for (const m of uploadMessages({ texts, prompt_settings: settings, candidates: 2 })) upload.add(asReceived(m));
    expect(upload.request().texts).toEqual(texts);
    expect(upload.request().prompt_settings).toEqual(settings);
  });

  it('refuses an upload past the prompt cap as soon as it is passed, naming the field', () => {
    const upload = new JobUpload();
    upload.add(asReceived({ prompts: range(LIMITS.prompts) }));
    expect(() => upload.add(asReceived({ prompts: [1] }))).toThrow(ValidationError);
    expect(() => new JobUpload().request()).toThrow('SubmitJobUpload');
  });
});

describe('the journal of a large request', () => {
  it('splits its prompts over specpart records small enough for a NATS message, and folds them back', () => {
    const request = { texts: range(100_000).map((i) => `a photo of thing number ${i} on a table`), candidates: 4, seed: 3 };
    const records = specRecords('j1', 'r1', 1000, 'e1', request);
    expect(records.length).toBeGreaterThan(100);
    expect(Math.max(...records.map((r) => encodeRecord(r).length))).toBeLessThan(64 * 1024);
    expect(foldJournal(records)?.spec.request).toEqual({ ...request, prompts: [], prompt_settings: [] });
    // a part missing: not resumable (no half a job), unless the job ended (only its request id is read then)
    expect(foldJournal(records.filter((r) => !(r.kind === 'specpart' && r.part === 7)))).toBeNull();
    const ended = foldJournal([records[0] as (typeof records)[number], { v: 1, kind: 'end', job: 'j1', state: 'done', error: '' }]);
    expect(ended?.spec.requestId).toBe('r1');
  });

  it('a small request stays one spec record, as before', () => {
    const records = specRecords('j1', 'r1', 1000, 'e1', { prompts: [3, 4], candidates: 4 });
    expect(records).toEqual([{ v: JOURNAL_SCHEMA, kind: 'spec', job: 'j1', requestId: 'r1', createdAt: 1000, epoch: 'e1', request: { prompts: [3, 4], candidates: 4 }, parts: 0 }]);
  });
});
