import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, nanos, NatsError, StorageType, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { decodeRecord, encodeRecord, JournalVersionError, type JournalRecord } from './records.js';
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
}

/** Records published at once, their acks awaited together. */
const WINDOW = 256;

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

/** A record over the server's max_payload: resending it cannot help. */
function isTooLarge(err: unknown): boolean {
  return err instanceof NatsError && err.code === ErrorCode.MaxPayloadExceeded;
}

/**
 * The journal in a JetStream stream `<prefix>_journal` (file storage): one subject per job and record kind.
 * A single writer loop sends records in windows, oldest first, and waits for their acks; while NATS is away it
 * retries the failed ones with back-off (the records wait in memory), and the message ids make a resend harmless.
 */
export class JetStreamJournal implements JournalStore {
  private readonly queue: JournalRecord[] = [];
  private pumping = false;
  private closed = false;
  private readonly idle = new Set<() => void>();

  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly stream: string,
    private readonly prefix: string,
    private readonly onError: (op: string, err: unknown) => void,
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
    return new JetStreamJournal(nc.jetstream(), jsm, stream, prefix, o.onError ?? (() => {}));
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
        try {
          records.push(decodeRecord(m.data));
        } catch (err) {
          records.push(err instanceof JournalVersionError ? err : null);
        }
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
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    let backoff = 50;
    while (this.queue.length > 0 && !this.closed) {
      // A window of records in flight at once (one socket write, acks awaited together): one at a time cost a
      // write and an ack round trip per record. Folding does not depend on the order records are stored in.
      const window = this.queue.slice(0, WINDOW);
      const sent = await Promise.allSettled(window.map((r) => this.js.publish(`${this.prefix}.journal.${r.job}.${r.kind}`, encodeRecord(r), { msgID: msgId(r), timeout: 2000 })));
      const failed: JournalRecord[] = [];
      let retryErr: unknown = null;
      window.forEach((r, i) => {
        const s = sent[i];
        if (s?.status !== 'rejected') return;
        // a record over the server's max_payload: no retry can send it, so say so and go on rather than hold
        // every later record behind it
        if (isTooLarge(s.reason)) this.onError('journal_too_large', s.reason);
        else {
          failed.push(r);
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
