import { connect, type NatsConnection, type Subscription } from 'nats';
import { fromJsonNumber, toJsonNumber } from './json-number.js';
import type { BusErrorHandler, Score, ScoreBus, ScoreHandler } from './score-bus.js';

/** Options of the NATS score bus. */
export interface NatsBusOptions {
  /** nats://host:port (comma-separated for several) */
  readonly url: string;
  /** subject prefix (default 'ttsnap'); tests use a unique one per test */
  readonly prefix?: string;
  /** connection name shown by the server */
  readonly name?: string;
  readonly onError?: BusErrorHandler;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Scores on core NATS subjects `<prefix>.scores.<job>.<prompt>.<candidate>.<step>.<reward>`, payload
 * `{"v":value,"w":worker,"b":busy_s}` (a non-finite value as the string "NaN", "Infinity" or "-Infinity": JSON has
 * no such numbers, and a broken reward model's NaN must still arrive, to rank last). Core NATS (not JetStream) on purpose: a score is cheap to recompute
 * and the coordinator re-requests a missing one, so per-message acks would only add latency to every stage.
 */
export class NatsScoreBus implements ScoreBus {
  private readonly subs: Subscription[] = [];
  private closed = false;

  private constructor(
    readonly connection: NatsConnection,
    private readonly prefix: string,
    private readonly onError: BusErrorHandler,
  ) {}

  static async connect(opts: NatsBusOptions): Promise<NatsScoreBus> {
    const onError = opts.onError ?? (() => {});
    try {
      const nc = await connect({ servers: opts.url.split(','), name: opts.name ?? 'ttsnap', maxReconnectAttempts: -1, reconnectTimeWait: 250 });
      return new NatsScoreBus(nc, opts.prefix ?? 'ttsnap', onError);
    } catch (err) {
      onError('connect', err);
      throw err;
    }
  }

  publish(scores: readonly Score[]): void {
    if (this.closed) return;
    for (const s of scores) {
      try {
        const subject = `${this.prefix}.scores.${s.job}.${s.prompt}.${s.candidate}.${s.step}.${s.reward}`;
        this.connection.publish(subject, encodeScore(s));
      } catch (err) {
        this.onError('publish', err);
      }
    }
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
        const score = decodeScore(msg.subject, msg.data, this.prefix);
        if (score) handler(score);
        else this.onError('decode', new Error(`cannot decode a score on ${msg.subject}`));
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

/** The payload of one score message (decodeScore reads it back, non-finite values included). */
export function encodeScore(s: Score): Uint8Array {
  return enc.encode(JSON.stringify({ v: toJsonNumber(s.value), w: s.worker, b: s.busy_s }));
}

/** Parses one score message; null when the subject or payload is malformed (counted, never thrown). */
export function decodeScore(subject: string, data: Uint8Array, prefix: string): Score | null {
  const tokens = subject.slice(prefix.length + 1).split('.');
  if (tokens.length !== 6 || tokens[0] !== 'scores') return null;
  const [, job, p, c, s, reward] = tokens as [string, string, string, string, string, string];
  const prompt = Number(p);
  const candidate = Number(c);
  const step = Number(s);
  if (![prompt, candidate, step].every((x) => Number.isInteger(x) && x >= 0)) return null;
  try {
    const body = JSON.parse(dec.decode(data)) as { v?: unknown; w?: unknown; b?: unknown };
    const value = fromJsonNumber(body.v);
    if (value === null || typeof body.w !== 'string') return null;
    return { job, prompt, candidate, step, reward, value, worker: body.w, busy_s: typeof body.b === 'number' ? body.b : 0 };
  } catch {
    return null;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
