import { setTimeout as sleep } from 'node:timers/promises';
import { gridDelay, LINGER_GRID_MS } from '../../core/grid-delay.js';
import { ErrorCode, nanos, NatsError, StorageType, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { decodeRecords, encodeRecords, recordJson, type JournalRecord, type JournalVersionError } from './records.js';
import { foldAll, type JournalStore, type LoadedJournal } from './store.js';

export interface JetStreamJournalOptions {
  /** subject prefix, as the score bus's (default 'ttsnap'): records go to `<prefix>.journal.<job>.<kind>` */
  readonly prefix?: string;
  /** how long records are kept at most (default 7 days): a journal is for resuming, not an archive */
  readonly maxAgeDays?: number;
  /** bytes the stream may hold (default unbounded); past it JetStream drops the oldest records */
  readonly maxBytes?: number;
  /** copies JetStream keeps of the stream (default 1); 3 on a 3-server cluster, so losing one server loses nothing */
  readonly replicas?: number;
  readonly onError?: (op: string, err: unknown) => void;
  /**
   * ms a record waits for others to travel with it in one message (default 200); a flush sends at once. A
   * coordinator killed -9 loses what waited (as it loses what was in flight): its successor redoes that work.
   */
  readonly lingerMs?: number;
}

/** Records sent at once (in as few messages as their jobs, kinds and max_payload allow), acks awaited together. */
const WINDOW = 2048;
/** Room left in a message for its headers (the message id). */
const HEADER_ROOM = 512;

/** Records of one job and kind that travel as one message, one JSON a line. */
interface Message {
  readonly subject: string;
  readonly records: JournalRecord[];
  readonly json: string[];
  bytes: number;
}

/** Message id of a record: JetStream drops a second copy (a resend after a lost ack) within its window. */
function msgId(r: JournalRecord): string {
  switch (r.kind) {
    case 'stage':
      return `${r.job}.stage.${r.position}.${r.stage}`;
    case 'prompt':
      return `${r.job}.prompt.${r.position}`;
    case 'event':
      return `${r.job}.event.${r.seq}`;
    case 'specpart':
      return `${r.job}.specpart.${r.part}`;
    default:
      return `${r.job}.${r.kind}`;
  }
}

/**
 * Packs records into messages: one subject per job and kind (compaction purges by subject), in the order
 * written, each message within `maxBytes` (a record larger than that travels alone, and fails as too large).
 */
function pack(prefix: string, records: readonly JournalRecord[], maxBytes: number): Message[] {
  const out: Message[] = [];
  const open = new Map<string, Message>();
  for (const r of records) {
    const subject = `${prefix}.journal.${r.job}.${r.kind}`;
    const json = recordJson(r);
    const bytes = Buffer.byteLength(json) + 1;
    let m = open.get(subject);
    if (!m || m.bytes + bytes > maxBytes) {
      m = { subject, records: [], json: [], bytes: 0 };
      open.set(subject, m);
      out.push(m);
    }
    m.records.push(r);
    m.json.push(json);
    m.bytes += bytes;
  }
  return out;
}

/** Message id: JetStream drops a second copy (a resend after a lost ack) within its window. */
function messageId(m: Message): string {
  const first = m.records[0] as JournalRecord;
  return m.records.length === 1 ? msgId(first) : `${msgId(first)}+${m.records.length}`;
}

/** A record over the server's max_payload: resending it cannot help. */
function isTooLarge(err: unknown): boolean {
  return err instanceof NatsError && err.code === ErrorCode.MaxPayloadExceeded;
}

/**
 * The journal in a JetStream stream `<prefix>_journal` (file storage): one subject per job and record kind.
 * A single writer loop gathers records for a moment (lingerMs), sends them in windows, oldest first, the
 * records of one job and kind together in one message, and waits for their acks; while NATS is away it retries
 * the failed ones with back-off (the records wait in memory), and the message ids make a resend harmless
 * (and folding tolerates a record stored twice).
 */
export class JetStreamJournal implements JournalStore {
  private readonly queue: JournalRecord[] = [];
  private pumping = false;
  private closed = false;
  private readonly idle = new Set<() => void>();
  /** ends the writer's wait for more records (a flush, a close) */
  private wake: (() => void) | null = null;

  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly stream: string,
    private readonly prefix: string,
    private readonly onError: (op: string, err: unknown) => void,
    private readonly lingerMs: number,
    /** bytes a message may carry (the server's max_payload, less room for headers) */
    private readonly maxBytes: () => number,
  ) {}

  static async open(nc: NatsConnection, o: JetStreamJournalOptions = {}): Promise<JetStreamJournal> {
    const prefix = o.prefix ?? 'ttsnap';
    const stream = `${prefix}_journal`;
    const jsm = await nc.jetstreamManager();
    const config = { name: stream, subjects: [`${prefix}.journal.>`], storage: StorageType.File, max_age: nanos((o.maxAgeDays ?? 7) * 86_400_000), duplicate_window: nanos(120_000), num_replicas: o.replicas ?? 1, max_bytes: o.maxBytes ?? -1 };
    await jsm.streams.info(stream).then(
      () => jsm.streams.update(stream, config),
      () => jsm.streams.add(config),
    );
    const maxBytes = (): number => Math.max(HEADER_ROOM, (nc.info?.max_payload ?? 1024 * 1024) - HEADER_ROOM);
    return new JetStreamJournal(nc.jetstream(), jsm, stream, prefix, o.onError ?? (() => {}), o.lingerMs ?? 200, maxBytes);
  }

  append(record: JournalRecord): void {
    if (this.closed) return;
    this.queue.push(record);
    if (!this.pumping) void this.pump();
  }

  async flush(timeoutMs: number): Promise<boolean> {
    if (this.queue.length === 0 && !this.pumping) return true;
    let done!: () => void;
    const drained = new Promise<boolean>((resolve) => (done = () => resolve(this.queue.length === 0)));
    this.idle.add(done);
    this.wake?.();
    const ok = await Promise.race([drained, sleep(timeoutMs, false)]);
    this.idle.delete(done);
    return ok;
  }

  async load(): Promise<LoadedJournal> {
    const filter = `${this.prefix}.journal.>`;
    const info = await this.jsm.streams.info(this.stream, { subjects_filter: filter });
    const total = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    const records: (JournalRecord | JournalVersionError | null)[] = [];
    if (total > 0) {
      const consumer = await this.js.consumers.get(this.stream, { filterSubjects: filter });
      const messages = await consumer.consume();
      for await (const m of messages) {
        records.push(...decodeRecords(m.data));
        if (m.info.pending === 0) break;
      }
      messages.stop();
    }
    return foldAll(records);
  }

  async compact(job: string): Promise<void> {
    for (const kind of ['specpart', 'stage', 'prompt', 'event']) await this.jsm.streams.purge(this.stream, { filter: `${this.prefix}.journal.${job}.${kind}` });
  }

  async forget(job: string): Promise<boolean> {
    const { purged } = await this.jsm.streams.purge(this.stream, { filter: `${this.prefix}.journal.${job}.>` });
    return purged > 0;
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  /** Waits lingerMs for more records to join those queued (a flush or close ends the wait). */
  private linger(): Promise<void> {
    return new Promise((resolve) => {
      // to the wall clock's grid: the pump wakes with the coordinator's other lingering timers (gridDelay)
      const timer = setTimeout(() => this.wake?.(), gridDelay(this.lingerMs, LINGER_GRID_MS));
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    let backoff = 50;
    while (this.queue.length > 0 && !this.closed) {
      if (this.idle.size === 0 && this.queue.length < WINDOW) await this.linger();
      if (this.closed) break;
      // A window of records in flight at once (one socket write, acks awaited together), a message per job and
      // kind: one at a time cost a write and an ack round trip per record. Folding does not depend on the order
      // records are stored in.
      const window = this.queue.slice(0, WINDOW);
      const messages = pack(this.prefix, window, this.maxBytes());
      const sent = await Promise.allSettled(messages.map((m) => this.js.publish(m.subject, encodeRecords(m.json), { msgID: messageId(m), timeout: 2000 })));
      const failed: JournalRecord[] = [];
      let retryErr: unknown = null;
      messages.forEach((m, i) => {
        const s = sent[i];
        if (s?.status !== 'rejected') return;
        // a record over the server's max_payload: no retry can send it, so say so and go on rather than hold
        // every later record behind it
        if (isTooLarge(s.reason)) this.onError('journal_too_large', s.reason);
        else {
          failed.push(...m.records);
          retryErr ??= s.reason;
        }
      });
      this.queue.splice(0, window.length, ...failed);
      if (failed.length === 0) {
        backoff = 50;
        continue;
      }
      this.onError('journal_append', retryErr);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 1000);
    }
    this.pumping = false;
    for (const done of this.idle) done();
  }
}
