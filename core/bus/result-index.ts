import { consumerOpts, type JetStreamClient, type JetStreamManager, type JetStreamSubscription, type JsMsg } from 'nats';
import { BucketObjects, type MetaFields } from './bucket-objects.js';

/**
 * An index of a result bucket, kept by a watch of its metadata (one message per object, the latest per name).
 * A job list or the size limit otherwise read every object's metadata at each call: a second for 30,000
 * results (bench:result-list), paid by `jobs list` and by a client's reconnect probe whenever the coordinator's
 * own jobs do not fill the list, and by every stored result under a size limit. Reads stay consistent with the
 * store: `current` first asks the stream for its latest metadata message and waits until the watch has applied
 * it, so a list sees what was stored or deleted before it, by this coordinator or another over the same NATS.
 * JetStream drops a bucket's oldest messages by itself (past its max age or size) without a message saying so: an
 * object whose metadata message is no longer in the stream (below its first sequence) leaves the index then.
 * Memory: about 820 bytes per stored result of two objects and a 200-byte listing (bench:result-list), bounded by
 * the store's retention.
 */
export class ResultIndex {
  /** what the bucket holds, as far as the watch has told */
  readonly objects = new BucketObjects();
  /** stream sequence of the last metadata message applied */
  private applied = 0;
  private failed: Error | null = null;
  private readonly waiting = new Set<{ readonly seq: number; readonly done: (err: Error | null) => void }>();
  /** the objects' metadata sequences in the order applied (ascending): what the stream drops first, at the front */
  private readonly bySeq: { readonly seq: number; readonly name: string }[] = [];
  private bySeqHead = 0;
  private sub: JetStreamSubscription | null = null;

  private constructor(
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly subject: string,
  ) {}

  /** Starts watching `bucket`'s metadata (stream `stream`): every object's latest, then what changes. */
  static async watch(js: JetStreamClient, jsm: JetStreamManager, bucket: string, stream: string): Promise<ResultIndex> {
    const index = new ResultIndex(jsm, stream, `$O.${bucket}.M.>`);
    const opts = consumerOpts().orderedConsumer().deliverLastPerSubject();
    opts.callback((err, m) => (err ? index.fail(err) : m ? index.apply(m) : undefined));
    index.sub = await js.subscribe(index.subject, opts);
    // a watch that ends (the connection closed, the consumer lost for good) leaves the index behind the store
    index.sub.closed.then(
      () => index.fail(new Error('the result index watch ended')),
      (err: unknown) => index.fail(err instanceof Error ? err : new Error(String(err))),
    );
    return index;
  }

  /** Whether the index stopped following the store (its callers then read the store itself). */
  get broken(): boolean {
    return this.failed !== null;
  }

  /**
   * Resolves once the index holds everything the store held when called; rejects when the watch failed or has
   * not caught up within `timeoutMs`.
   */
  async current(timeoutMs: number): Promise<void> {
    if (this.failed) throw this.failed;
    const [seq, first] = await Promise.all([this.latest(), this.firstSeq()]);
    this.expire(first);
    if (seq <= this.applied) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(w);
        reject(new Error(`the result index is behind the store (at ${this.applied} of ${seq} after ${timeoutMs} ms)`));
      }, timeoutMs);
      const w = { seq, done: (err: Error | null) => (clearTimeout(timer), err ? reject(err) : resolve()) };
      this.waiting.add(w);
    });
  }

  stop(): void {
    this.sub?.unsubscribe();
  }

  /** The stream sequence of the bucket's latest metadata message (0 when it has none). */
  private async latest(): Promise<number> {
    try {
      return (await this.jsm.streams.getMessage(this.stream, { last_by_subj: this.subject })).seq;
    } catch (err) {
      if ((err as { code?: unknown }).code === '404') return 0;
      throw err;
    }
  }

  /** The stream's first sequence: everything below it was dropped (age, size, purges). */
  private async firstSeq(): Promise<number> {
    return (await this.jsm.streams.info(this.stream)).state.first_seq;
  }

  /** Forgets the objects whose metadata message the stream no longer has (those below `first`). */
  private expire(first: number): void {
    while (this.bySeqHead < this.bySeq.length && (this.bySeq[this.bySeqHead] as { seq: number }).seq < first) {
      const { seq, name } = this.bySeq[this.bySeqHead++] as { seq: number; name: string };
      // only if still the object's latest metadata (not since stored again or deleted)
      if (this.objects.partOf(name)?.seq === seq) this.objects.record(name, { name, deleted: true }, seq);
    }
    // the front is dropped now and then, not at every step
    if (this.bySeqHead > 1024 && this.bySeqHead * 2 > this.bySeq.length) {
      this.bySeq.splice(0, this.bySeqHead);
      this.bySeqHead = 0;
    }
  }

  private apply(m: JsMsg): void {
    let meta: MetaFields;
    try {
      meta = JSON.parse(new TextDecoder().decode(m.data)) as MetaFields;
    } catch {
      meta = {};
    }
    const name = typeof meta.name === 'string' ? meta.name : null;
    if (name) {
      this.objects.record(name, meta, m.seq);
      if (meta.deleted !== true) this.bySeq.push({ seq: m.seq, name });
    }
    this.applied = Math.max(this.applied, m.seq);
    for (const w of this.waiting) {
      if (w.seq > this.applied) continue;
      this.waiting.delete(w);
      w.done(null);
    }
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const w of this.waiting) w.done(this.failed);
    this.waiting.clear();
  }
}
