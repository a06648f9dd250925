import { connect, type NatsConnection, type Subscription } from 'nats';
import { fromJsonNumber, toJsonNumber } from './json-number.js';
import { RefusedError } from '../security/errors.js';
import { natsConnectionOptions, natsRefusalReason, NO_NATS_AUTH, type NatsAuth } from './nats-auth.js';
import { natsTlsRefusal } from './nats-tls-probe.js';
import { decodeScoreBatch, encodeScoreBatch } from './score-batch.js';
import type { ScoreBatch__Output } from '../generated/ttsnap/v1/ScoreBatch.js';
import { TOKEN, type BatchFailure, type BusErrorHandler, type PreviewMessage, type Score, type ScoreBus, type ScoreHandler } from './score-bus.js';

/** Options of the NATS score bus. */
export interface NatsBusOptions {
  /** nats://host:port (comma-separated for several) */
  readonly url: string;
  /** subject prefix (default 'ttsnap'); tests use a unique one per test */
  readonly prefix?: string;
  /** connection name shown by the server */
  readonly name?: string;
  readonly onError?: BusErrorHandler;
  /** credentials and TLS (default none: a server without authorization) */
  readonly auth?: NatsAuth;
  /** how long the first connect may take (default nats.js's 20 s) */
  readonly connectTimeoutMs?: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Scores on core NATS subjects `<prefix>.scores.<worker>.<job>`, one message per batch of one job's scores
 * (a worker publishes each denoise batch's scores together: a message per score made the bus, and the
 * coordinator reading it, cost more than the scores), payload bus.proto's ScoreBatch (columns; a NaN from a
 * broken reward model arrives as NaN, to rank last). The coordinator also reads the JSON form of protocol 2
 * workers, `{"r":[reward names],"s":[[prompt, candidate, step, reward index, value, busy_s], ...]}` (a
 * non-finite value as the string "NaN", "Infinity" or "-Infinity"), and the older one-score form, `<prefix>.scores.<worker>.<job>.<prompt>.<candidate>.
 * <step>.<reward>` with payload `{"v":value,"b":busy_s}`, from workers not yet upgraded. The worker is part of
 * the subject, not the payload, so that NATS subject permissions bind it: a worker's user may publish only
 * under `<prefix>.scores.<its id>.>` and the coordinator then knows who sent a score (and ignores it unless
 * that worker holds the candidate).
 * Core NATS (not JetStream) on purpose: a score is cheap to recompute and the coordinator re-requests a
 * missing one, so per-message acks would only add latency to every stage.
 */
export class NatsScoreBus implements ScoreBus {
  private readonly subs: Subscription[] = [];
  private readonly failureHandlers = new Set<(f: BatchFailure) => void>();
  private readonly previewHandlers = new Set<(p: PreviewMessage) => void>();
  private closed = false;

  private constructor(
    readonly connection: NatsConnection,
    private readonly prefix: string,
    private readonly onError: BusErrorHandler,
  ) {}

  static async connect(opts: NatsBusOptions): Promise<NatsScoreBus> {
    const onError = opts.onError ?? (() => {});
    const auth = opts.auth ?? NO_NATS_AUTH;
    try {
      const nc = await connect({
        servers: opts.url.split(','),
        name: opts.name ?? 'ttsnap',
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        ...(opts.connectTimeoutMs !== undefined ? { timeout: opts.connectTimeoutMs } : {}),
        ...natsConnectionOptions(auth),
      });
      const bus = new NatsScoreBus(nc, opts.prefix ?? 'ttsnap', onError);
      void bus.watchStatus();
      return bus;
    } catch (err) {
      onError('connect', err);
      // nats.js reports a TLS refusal (unknown CA, no client certificate) only as a TIMEOUT: ask the server ourselves
      const tls = auth.tls && (err as { code?: unknown } | null)?.code === 'TIMEOUT' ? await natsTlsRefusal(opts.url, auth.tls) : null;
      const reason = tls ? `TLS: ${tls}` : natsRefusalReason(auth, err);
      if (reason) throw new RefusedError(`NATS at ${opts.url}`, reason, { cause: err });
      throw err;
    }
  }

  /** The server reports a refused publish (permissions) asynchronously: count it as a publish error. */
  private async watchStatus(): Promise<void> {
    for await (const st of this.connection.status()) {
      if (st.type === 'error') this.onError('publish', st.data);
    }
  }

  publish(scores: readonly Score[]): void {
    if (this.closed) return;
    for (const { subject, data } of encodeScores(this.prefix, scores)) {
      try {
        this.connection.publish(subject, data);
      } catch (err) {
        this.onError('publish', err);
      }
    }
  }

  /** On `<prefix>.scores.<worker>.<job>.failed` (under the worker's own subjects, as its permissions allow). */
  publishFailure(f: BatchFailure): void {
    this.publishBeside(f.worker, f.job, 'failed', () => encodeFailure(f));
  }

  /** On `<prefix>.scores.<worker>.<job>.<kind>`: beside the worker's scores, under the subjects it may publish on. */
  private publishBeside(worker: string, job: string, kind: 'failed' | 'preview', data: () => Uint8Array): void {
    if (this.closed) return;
    try {
      this.connection.publish(`${this.prefix}.scores.${workerToken(worker)}.${job}.${kind}`, data());
    } catch (err) {
      this.onError('publish', err);
    }
  }

  onFailure(handler: (f: BatchFailure) => void): () => void {
    this.failureHandlers.add(handler);
    return () => this.failureHandlers.delete(handler);
  }

  /** On `<prefix>.scores.<worker>.<job>.preview`, one message per preview (a thumbnail: tens of KiB, far below max_payload). */
  publishPreview(p: PreviewMessage): void {
    this.publishBeside(p.worker, p.job, 'preview', () => encodePreview(p));
  }

  onPreview(handler: (p: PreviewMessage) => void): () => void {
    this.previewHandlers.add(handler);
    return () => this.previewHandlers.delete(handler);
  }

  onReconnect(handler: () => void): () => void {
    let stopped = false;
    void (async () => {
      for await (const s of this.connection.status()) {
        if (stopped) break;
        if (s.type === 'reconnect') handler();
      }
    })();
    return () => {
      stopped = true;
    };
  }

  subscribe(handler: ScoreHandler): () => void {
    const sub = this.connection.subscribe(`${this.prefix}.scores.>`, {
      callback: (err, msg) => {
        if (err) return this.onError('subscribe', err);
        const scores = decodeScores(msg.subject, msg.data, this.prefix);
        if (scores) {
          for (const score of scores) handler(score);
          return;
        }
        const failure = decodeFailure(msg.subject, msg.data, this.prefix);
        if (failure) {
          for (const h of this.failureHandlers) h(failure);
          return;
        }
        const preview = decodePreview(msg.subject, msg.data, this.prefix);
        if (preview) for (const h of this.previewHandlers) h(preview);
        else this.onError('decode', new Error(`cannot decode scores on ${msg.subject}`));
      },
    });
    this.subs.push(sub);
    return () => sub.unsubscribe();
  }

  /** Waits for the server to have everything published so far, at most `timeoutMs` (the server may be gone). */
  async flush(timeoutMs = 2000): Promise<void> {
    if (!this.closed) await withTimeout(this.connection.flush(), timeoutMs);
  }

  /** Drains (delivers what is pending) for at most `timeoutMs`, then closes; never hangs on a lost server. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const drained = await withTimeout(this.connection.drain(), timeoutMs).then(() => true, () => false);
    if (!drained && !this.connection.isClosed()) await this.connection.close();
  }
}

/** Scores in one message at most (a republish after a reconnect may hold thousands; each is about 40 bytes). */
const MAX_SCORES_PER_MESSAGE = 1000;

/** One message per worker and job (and per MAX_SCORES_PER_MESSAGE scores): the subject and its payload (a ScoreBatch). */
export function encodeScores(prefix: string, scores: readonly Score[]): { subject: string; data: Uint8Array }[] {
  const groups = new Map<string, Score[]>();
  for (const s of scores) {
    const subject = `${prefix}.scores.${workerToken(s.worker)}.${s.job}`;
    const list = groups.get(subject);
    if (list) list.push(s);
    else groups.set(subject, [s]);
  }
  const out: { subject: string; data: Uint8Array }[] = [];
  for (const [subject, list] of groups) {
    for (let i = 0; i < list.length; i += MAX_SCORES_PER_MESSAGE) {
      const batch: ScoreBatch__Output = { rewards: [], prompt: [], candidate: [], step: [], reward: [], value: [], busy_s: [] };
      for (const s of list.slice(i, i + MAX_SCORES_PER_MESSAGE)) {
        let r = batch.rewards.indexOf(s.reward);
        if (r < 0) r = batch.rewards.push(s.reward) - 1;
        batch.prompt.push(s.prompt);
        batch.candidate.push(s.candidate);
        batch.step.push(s.step);
        batch.reward.push(r);
        batch.value.push(s.value);
        batch.busy_s.push(s.busy_s);
      }
      out.push({ subject, data: encodeScoreBatch(batch) });
    }
  }
  return out;
}

/** The first byte of the JSON form of a score message (a ScoreBatch never starts with it: field 15, a group). */
const JSON_OPEN = 0x7b;

/** Parses one message of scores (any form); null when the subject or payload is malformed (counted, never thrown). */
export function decodeScores(subject: string, data: Uint8Array, prefix: string): Score[] | null {
  const tokens = subject.slice(prefix.length + 1).split('.');
  if (tokens[0] !== 'scores') return null;
  if (tokens.length === 7) {
    const one = decodeScore(tokens, data);
    return one ? [one] : null;
  }
  const [, w, job] = tokens;
  if (tokens.length !== 3 || !w || !job) return null;
  const worker = senderOf(w);
  if (worker === null || !TOKEN.test(job)) return null;
  return data[0] === JSON_OPEN ? decodeJsonRows(data, job, worker) : decodeColumns(data, job, worker);
}

/** A ScoreBatch: every column as long as `prompt`, reward indices within `rewards`, the names tokens. */
function decodeColumns(data: Uint8Array, job: string, worker: string): Score[] | null {
  let b: ScoreBatch__Output;
  try {
    b = decodeScoreBatch(data);
  } catch {
    return null;
  }
  const n = b.prompt.length;
  const { rewards, candidate, step, reward, value, busy_s } = b;
  if (candidate.length !== n || step.length !== n || reward.length !== n || value.length !== n || busy_s.length !== n) return null;
  if (!rewards.every((r) => TOKEN.test(r))) return null;
  const out: Score[] = new Array<Score>(n);
  for (let k = 0; k < n; k++) {
    const name = rewards[reward[k] as number];
    if (name === undefined) return null;
    out[k] = { job, prompt: b.prompt[k] as number, candidate: candidate[k] as number, step: step[k] as number, reward: name, value: value[k] as number, worker, busy_s: busy_s[k] as number };
  }
  return out;
}

/** The JSON form of protocol 2 workers: `{"r":[reward names],"s":[[prompt, candidate, step, reward index, value, busy_s], ...]}`. */
function decodeJsonRows(data: Uint8Array, job: string, worker: string): Score[] | null {
  try {
    const body = JSON.parse(dec.decode(data)) as { r?: unknown; s?: unknown };
    const rewards = body.r;
    if (!Array.isArray(rewards) || !rewards.every((r): r is string => typeof r === 'string' && TOKEN.test(r)) || !Array.isArray(body.s)) return null;
    const rows = body.s as unknown[];
    const out: Score[] = new Array<Score>(rows.length);
    // a plain loop over the rows, no destructuring or lists per row: a batch of 128 scores is decoded per message
    for (let k = 0; k < rows.length; k++) {
      const row = rows[k];
      if (!Array.isArray(row) || row.length !== 6) return null;
      const prompt: unknown = row[0];
      const candidate: unknown = row[1];
      const step: unknown = row[2];
      const r: unknown = row[3];
      const busy: unknown = row[5];
      const reward = Number.isInteger(r) ? (rewards[r as number] as string | undefined) : undefined;
      const value = fromJsonNumber(row[4]);
      if (!isIndex(prompt) || !isIndex(candidate) || !isIndex(step) || reward === undefined || value === null) return null;
      out[k] = { job, prompt: prompt as number, candidate: candidate as number, step: step as number, reward, value, worker, busy_s: typeof busy === 'number' ? busy : 0 };
    }
    return out;
  } catch {
    return null;
  }
}

/** Worker ids of the subject tokens seen lately: every score message names its sender, always one of a few. */
const senders = new Map<string, string | null>();
const MAX_SENDERS = 4096;

/** workerFromToken, remembered for the tokens seen lately. */
function senderOf(token: string): string | null {
  let worker = senders.get(token);
  if (worker === undefined) {
    if (senders.size >= MAX_SENDERS) senders.clear();
    worker = workerFromToken(token);
    senders.set(token, worker);
  }
  return worker;
}

const isIndex = (x: unknown): boolean => Number.isInteger(x) && (x as number) >= 0;

/** The older one-score form: subject tokens `scores.<worker>.<job>.<prompt>.<candidate>.<step>.<reward>`, payload `{"v","b"}`. */
function decodeScore(tokens: readonly string[], data: Uint8Array): Score | null {
  const [, w, job, p, c, s, reward] = tokens as [string, string, string, string, string, string, string];
  const worker = workerFromToken(w);
  if (worker === null) return null;
  const [prompt, candidate, step] = [Number(p), Number(c), Number(s)];
  if (![prompt, candidate, step].every(isIndex)) return null;
  try {
    const body = JSON.parse(dec.decode(data)) as { v?: unknown; b?: unknown };
    const value = fromJsonNumber(body.v);
    if (value === null) return null;
    return { job, prompt, candidate, step, reward, value, worker, busy_s: typeof body.b === 'number' ? body.b : 0 };
  } catch {
    return null;
  }
}

export function encodeFailure(f: BatchFailure): Uint8Array {
  return enc.encode(JSON.stringify({ c: f.candidates.map((c) => [c.prompt, c.candidate, c.step]), e: f.error }));
}

/** Parses one failure message; null when malformed (counted, never thrown). */
export function decodeFailure(subject: string, data: Uint8Array, prefix: string): BatchFailure | null {
  const tokens = subject.slice(prefix.length + 1).split('.');
  if (tokens.length !== 4 || tokens[0] !== 'scores' || tokens[3] !== 'failed') return null;
  const worker = workerFromToken(tokens[1] as string);
  if (worker === null) return null;
  try {
    const body = JSON.parse(dec.decode(data)) as { c?: unknown; e?: unknown };
    if (!Array.isArray(body.c) || typeof body.e !== 'string') return null;
    const candidates = body.c.map((t: unknown) => (Array.isArray(t) && t.length === 3 && t.every((x) => Number.isInteger(x) && (x as number) >= 0) ? { prompt: t[0] as number, candidate: t[1] as number, step: t[2] as number } : null));
    if (candidates.some((c) => c === null)) return null;
    return { job: tokens[2] as string, worker, candidates: candidates as BatchFailure['candidates'], error: body.e.slice(0, 2000) };
  } catch {
    return null;
  }
}

/** A preview's payload: a JSON header line `{"p","c","s","r":{reward: value}}`, a newline, then the PNG's bytes. */
export function encodePreview(p: PreviewMessage): Uint8Array {
  const scores = Object.fromEntries(Object.entries(p.scores).map(([k, v]) => [k, toJsonNumber(v)]));
  const head = enc.encode(`${JSON.stringify({ p: p.prompt, c: p.candidate, s: p.step, r: scores })}\n`);
  const out = new Uint8Array(head.length + p.png.length);
  out.set(head);
  out.set(p.png, head.length);
  return out;
}

/** Parses one preview message; null when malformed (counted, never thrown). */
export function decodePreview(subject: string, data: Uint8Array, prefix: string): PreviewMessage | null {
  const tokens = subject.slice(prefix.length + 1).split('.');
  if (tokens.length !== 4 || tokens[0] !== 'scores' || tokens[3] !== 'preview') return null;
  const worker = workerFromToken(tokens[1] as string);
  const nl = data.indexOf(10);
  if (worker === null || nl < 0) return null;
  try {
    const head = JSON.parse(dec.decode(data.subarray(0, nl))) as { p?: unknown; c?: unknown; s?: unknown; r?: unknown };
    if (![head.p, head.c, head.s].every(isIndex) || typeof head.r !== 'object' || head.r === null) return null;
    const scores: Record<string, number> = {};
    for (const [k, v] of Object.entries(head.r)) {
      const value = fromJsonNumber(v);
      if (value === null) return null;
      scores[k] = value;
    }
    return { job: tokens[2] as string, worker, prompt: head.p as number, candidate: head.c as number, step: head.s as number, png: data.slice(nl + 1), scores };
  } catch {
    return null;
  }
}

/**
 * A worker id as one subject token: letters, digits and '-' stay (pod names need nothing else, so NATS
 * permissions can name them as they are); any other character becomes '_' and two hex digits.
 */
export function workerToken(worker: string): string {
  return worker.replace(/[^A-Za-z0-9-]/g, (ch) => `_${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function workerFromToken(token: string): string | null {
  if (!/^([A-Za-z0-9-]|_[0-9a-f]{2})+$/.test(token)) return null;
  return token.replace(/_([0-9a-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
