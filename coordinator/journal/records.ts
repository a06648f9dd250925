import { z } from 'zod';
import { fromJsonNumber, toJsonNumber, type JsonNumber } from '../../core/bus/json-number.js';
import type { Ledger } from '../../core/engine/ledger.js';
import { TtsnapError } from '../../core/errors.js';
import type { PromptSettings } from '../../core/generated/ttsnap/v1/PromptSettings.js';
import type { SubmitJobRequest } from '../../core/generated/ttsnap/v1/SubmitJobRequest.js';
import type { BackendInfo__Output } from '../../core/generated/ttsnap/v1/BackendInfo.js';
import { infoFromProto, infoToProto, type BackendInfo } from '../../core/contract/backend-info.js';

/**
 * The job journal: what a coordinator writes as a job runs, so that another coordinator on the same NATS can
 * resume it. One job's records, in order: its spec (the request as submitted), each prompt's stage outcomes
 * (the candidates kept, with their scores, and the prompt's ledger so far), each finished prompt's result,
 * every event WatchJob streams (numbered), and how the job ended. Records are JSON; `v` is the schema version
 * of the records this coordinator writes. Schema 2: a stored message may carry several records of one job and
 * kind, one JSON a line (a message per record cost the coordinator more than the records). It reads schema 1
 * (a record a message) too; a coordinator of schema 1 refuses a job written with 2 (its spec says 2) instead
 * of reading the several-record messages as malformed.
 */
export const JOURNAL_SCHEMA = 2;
/** The oldest schema this coordinator reads. */
export const MIN_JOURNAL_SCHEMA = 1;

/** A journal written by a newer coordinator (or not a journal at all): resuming it could mis-run the job. */
export class JournalVersionError extends TtsnapError {
  constructor(
    readonly job: string,
    readonly found: unknown,
  ) {
    super(
      `job ${job}: journal record schema ${String(found)}, this coordinator reads schema ${MIN_JOURNAL_SCHEMA} to ${JOURNAL_SCHEMA}; ` +
        'upgrade the coordinator before resuming it (README: upgrade order)',
    );
  }
}

const ledger = z.object({
  candidates: z.number(),
  denoise_steps: z.number(),
  reward_calls: z.record(z.string(), z.number()).readonly(),
  cost: z.number(),
  stages: z.array(z.object({ step: z.number(), denoise_steps: z.number(), reward_calls: z.record(z.string(), z.number()).readonly(), cost: z.number() }).readonly()).readonly(),
}).readonly();
const jsonNumber = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]);
const base = { v: z.number().int().min(MIN_JOURNAL_SCHEMA).max(JOURNAL_SCHEMA), job: z.string().min(1) };

const schemas = {
  spec: z.object({
    ...base,
    kind: z.literal('spec'),
    requestId: z.string(),
    createdAt: z.number(),
    epoch: z.string(),
    request: z.record(z.string(), z.unknown()),
    /** specpart records that carry the request's prompts (0: the request holds them) */
    parts: z.number().int().min(0).optional(),
    /**
     * the pool the job runs on and the backend info its spec was compiled with (the proto form): a resuming
     * coordinator rebuilds the job from it at once, before any worker registers (absent in older journals)
     */
    pool: z.object({ id: z.string().min(1), info: z.record(z.string(), z.unknown()) }).optional(),
  }),
  /** a slice of a large request's prompts, texts and per-prompt settings (in part order), so no record outgrows a message */
  specpart: z.object({
    ...base,
    kind: z.literal('specpart'),
    part: z.number().int().min(0),
    prompts: z.array(z.number()),
    texts: z.array(z.string()),
    prompt_settings: z.array(z.record(z.string(), z.unknown())),
  }),
  stage: z.object({
    ...base,
    kind: z.literal('stage'),
    position: z.number().int().min(0),
    /** index of the stage that produced this outcome (0 = the first prune point) */
    stage: z.number().int().min(0),
    step: z.number().int().min(0),
    kept: z.array(z.number().int().min(0)),
    /** per reward, aligned with kept */
    scores: z.record(z.string(), z.array(jsonNumber)),
    ledger,
  }),
  prompt: z.object({ ...base, kind: z.literal('prompt'), position: z.number().int().min(0), result: z.record(z.string(), z.unknown()), ledger }),
  event: z.object({ ...base, kind: z.literal('event'), seq: z.number().int().min(1), event: z.record(z.string(), z.unknown()) }),
  end: z.object({ ...base, kind: z.literal('end'), state: z.string(), error: z.string() }),
} as const;

export type SpecRecord = z.infer<typeof schemas.spec>;
export type SpecPartRecord = z.infer<typeof schemas.specpart>;
export type StageRecord = z.infer<typeof schemas.stage>;
export type PromptRecord = z.infer<typeof schemas.prompt>;
export type EventRecord = z.infer<typeof schemas.event>;
export type EndRecord = z.infer<typeof schemas.end>;
export type JournalRecord = SpecRecord | SpecPartRecord | StageRecord | PromptRecord | EventRecord | EndRecord;
export type JournalKind = JournalRecord['kind'];
export const JOURNAL_KINDS = Object.keys(schemas) as JournalKind[];

const envelope = z.object({ v: z.unknown(), kind: z.enum(JOURNAL_KINDS as [JournalKind, ...JournalKind[]]), job: z.string() });

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Events that never carry a rendered image (no winner inside). */
const IMAGELESS_EVENTS = new Set(['pruned', 'stage', 'budget', 'moved', 'worker_lost', 'waiting']);

/** True when a result carries a rendered image (its winner's, or a top-k entry's). */
function resultHasImage(result: Record<string, unknown>): boolean {
  const winners: unknown[] = [result.winner, ...(Array.isArray(result.top_k) ? (result.top_k as unknown[]) : [])];
  return winners.some((w) => typeof w === 'object' && w !== null && 'image' in w && w.image !== undefined && w.image !== null);
}

/**
 * True when a record may carry a rendered image (a prompt's winner, an event with results). A prompt's result is
 * looked into: most jobs render none, and the replacer made their prompt records the journal's costliest JSON.
 */
function mayHoldImage(r: JournalRecord): boolean {
  if (r.kind === 'prompt') return resultHasImage(r.result);
  if (r.kind === 'spec' || r.kind === 'specpart') return true;
  return r.kind === 'event' && !IMAGELESS_EVENTS.has(String(r.event.event));
}

const noImage = (k: string, v: unknown): unknown => (k === 'image' ? undefined : v);

/**
 * JSON of a record, on one line; bytes (rendered images) stay out, as in the result store. Only records that
 * may hold an image go through the replacer: it is called for every value, each id of a stage's lists too.
 */
export function recordJson(r: JournalRecord): string {
  return mayHoldImage(r) ? JSON.stringify(r, noImage) : JSON.stringify(r);
}

/** One stored message of records (recordJson each), one a line: JSON escapes every newline inside a string. */
export function encodeRecords(json: readonly string[]): Uint8Array {
  return enc.encode(json.join('\n'));
}

export function encodeRecord(r: JournalRecord): Uint8Array {
  return encodeRecords([recordJson(r)]);
}

/**
 * Parses one record. A record of another schema version throws JournalVersionError (with the job, so the
 * coordinator says which job it cannot resume); a malformed one returns null (counted by the caller).
 */
function parseRecord(text: string): JournalRecord | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const head = envelope.safeParse(raw);
  if (!head.success) return null;
  const version = head.data.v;
  if (typeof version !== 'number' || version < MIN_JOURNAL_SCHEMA || version > JOURNAL_SCHEMA) throw new JournalVersionError(head.data.job, version);
  const parsed = schemas[head.data.kind].safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/** Parses a stored message of one record (throws JournalVersionError for another schema; null when malformed). */
export function decodeRecord(data: Uint8Array): JournalRecord | null {
  return parseRecord(dec.decode(data));
}

/** Parses a stored message, each of its records on its own: a record of another schema as its JournalVersionError, a malformed one as null. */
export function decodeRecords(data: Uint8Array): (JournalRecord | JournalVersionError | null)[] {
  return dec.decode(data).split('\n').map((line) => {
    try {
      return parseRecord(line);
    } catch (err) {
      if (err instanceof JournalVersionError) return err;
      throw err;
    }
  });
}

/** Prompts per specpart record: 2,000 texts of at most 2,000 characters stay far below a NATS message's 1 MiB. */
const SPEC_PART_PROMPTS = 250;

type PromptLists = Pick<SubmitJobRequest, 'prompts' | 'texts' | 'prompt_settings'>;

/**
 * The records that start a job's journal: its spec, and when the request has more prompts than one record
 * should carry, the request without them and its prompts in specpart records.
 */
export function specRecords(job: string, requestId: string, createdAt: number, epoch: string, request: SubmitJobRequest, pool?: { id: string; info: BackendInfo }): JournalRecord[] {
  const { prompts = [], texts = [], prompt_settings: settings = [], ...rest } = request;
  const count = Math.max(prompts.length, texts.length, settings.length);
  const head = { v: JOURNAL_SCHEMA, kind: 'spec', job, requestId, createdAt, epoch, ...(pool ? { pool: { id: pool.id, info: infoToProto(pool.info) as Record<string, unknown> } } : {}) } as const;
  if (count <= SPEC_PART_PROMPTS) return [{ ...head, request: request as Record<string, unknown>, parts: 0 }];
  const parts: SpecPartRecord[] = [];
  for (let from = 0, part = 0; from < count; from += SPEC_PART_PROMPTS, part++) {
    const slice = <T>(list: readonly T[]): T[] => list.slice(from, from + SPEC_PART_PROMPTS);
    parts.push({ v: JOURNAL_SCHEMA, kind: 'specpart', job, part, prompts: slice(prompts).map(Number), texts: slice(texts), prompt_settings: slice(settings) as Record<string, unknown>[] });
  }
  return [{ ...head, request: rest as Record<string, unknown>, parts: parts.length }, ...parts];
}

/** The request of a spec whose prompts came in specpart records (null while a part is missing). */
function joinSpec(spec: SpecRecord, parts: ReadonlyMap<number, SpecPartRecord>): SpecRecord | null {
  if (!spec.parts) return spec;
  const lists: Required<PromptLists> = { prompts: [], texts: [], prompt_settings: [] };
  for (let i = 0; i < spec.parts; i++) {
    const p = parts.get(i);
    if (!p) return null;
    lists.prompts.push(...p.prompts);
    lists.texts.push(...p.texts);
    lists.prompt_settings.push(...(p.prompt_settings as PromptSettings[]));
  }
  return { ...spec, request: { ...spec.request, ...lists }, parts: 0 };
}

/**
 * The stage record of a prune outcome: kept ids and, per reward, their scores (non-finite ones included). It
 * takes the lists and the ledger as they are (the caller's own, built for it: a copy of each cost a clone per
 * prune), and copies a score list only when it holds a non-finite value.
 */
export function stageRecord(job: string, position: number, stage: number, step: number, kept: number[], scores: Readonly<Record<string, number[]>>, l: Ledger): StageRecord {
  const json: Record<string, JsonNumber[]> = {};
  for (const [name, values] of Object.entries(scores)) json[name] = values.every(Number.isFinite) ? values : values.map(toJsonNumber);
  return { v: JOURNAL_SCHEMA, kind: 'stage', job, position, stage, step, kept, scores: json, ledger: l };
}

/** Scores of a stage record as numbers (NaN and infinities restored). */
export function stageScores(r: StageRecord): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, values] of Object.entries(r.scores)) out[name] = values.map((x) => fromJsonNumber(x) ?? Number.NaN);
  return out;
}

/** One job's journal, folded: what a coordinator needs to resume it or to answer for it. */
export interface JobJournal {
  readonly spec: SpecRecord;
  /** per prompt position, the latest stage outcome (prompts not yet past their first prune point are absent) */
  readonly stages: ReadonlyMap<number, StageRecord>;
  /** finished prompts by position */
  readonly prompts: ReadonlyMap<number, PromptRecord>;
  /** events in sequence order, without duplicates */
  readonly events: readonly EventRecord[];
  readonly end: EndRecord | null;
}

/**
 * Folds one job's records (in the order written; a record re-sent after a reconnect may appear twice) into
 * its state. Null when there is no spec (the job's start was never stored: nothing to resume).
 */
export function foldJournal(records: Iterable<JournalRecord>): JobJournal | null {
  let spec: SpecRecord | null = null;
  const specParts = new Map<number, SpecPartRecord>();
  const stages = new Map<number, StageRecord>();
  const prompts = new Map<number, PromptRecord>();
  const events = new Map<number, EventRecord>();
  let end: EndRecord | null = null;
  for (const r of records) {
    if (r.kind === 'spec') spec ??= r;
    else if (r.kind === 'specpart') specParts.set(r.part, r);
    else if (r.kind === 'stage') {
      const prev = stages.get(r.position);
      if (!prev || r.stage > prev.stage) stages.set(r.position, r);
    } else if (r.kind === 'prompt') prompts.set(r.position, r);
    else if (r.kind === 'event') events.set(r.seq, r);
    else end = r;
  }
  if (!spec) return null;
  // an ended job's parts may be compacted away: its request id is all that is still read
  const whole = joinSpec(spec, specParts) ?? (end ? spec : null);
  if (!whole) return null;
  for (const p of prompts.keys()) stages.delete(p);
  return { spec: whole, stages, prompts, events: [...events.values()].sort((a, b) => a.seq - b.seq), end };
}

/** The pool a spec record names and the backend info its job was compiled with (null: an older journal, or unreadable). */
export function journaledPool(spec: SpecRecord): { readonly id: string; readonly info: BackendInfo } | null {
  if (!spec.pool) return null;
  try {
    // the proto form as infoToProto wrote it (zod checked it is an object); infoFromProto refuses what it cannot use
    const info = infoFromProto(spec.pool.info as unknown as BackendInfo__Output);
    return info ? { id: spec.pool.id, info } : null;
  } catch {
    return null;
  }
}

