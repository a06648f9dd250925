import { Events, nanos, StorageType, type JetStreamClient, type JetStreamManager, type NatsConnection, type ObjectStore } from 'nats';
import { BucketObjects } from './bucket-objects.js';
import { ResultIndex } from './result-index.js';

/** A stored job result: the summary (the result without its prompts) and its prompts in request order. */
export interface StoredResult<P = unknown> {
  readonly summary: Record<string, unknown>;
  readonly prompts: readonly P[];
  /** what a job list shows of the job once no coordinator holds it in memory (ListJobs' JobSummary) */
  readonly listing?: object;
}

/** A stored result as a job list shows it: its listing, or for a result stored without one what its summary says. */
export interface StoredListing {
  readonly job: string;
  readonly listing: Record<string, unknown>;
}

/** One page of a stored result's prompts, with the total to page through. */
export interface StoredPage {
  readonly summary: Record<string, unknown>;
  readonly prompts: unknown[];
  readonly total: number;
}

/**
 * Where finished jobs' results outlive the coordinator process. This is the place durability pays: a result
 * stands for hours of accelerator time, whereas a lost score is simply asked for again (scores stay on core NATS).
 * Results of any size: the prompts are stored in pages, each page an object cut into chunks below the server's
 * max_payload, so no message carries a whole large job and a reader fetches only the pages it asks for.
 */
export interface ResultStore {
  /** Stores the whole result; rejects (with the cause) when it cannot, leaving no half-written result readable. */
  put(job: string, result: StoredResult): Promise<void>;
  /** Prompts [offset, offset + limit) of a stored result; null when the store does not know the job. */
  get(job: string, offset: number, limit: number): Promise<StoredPage | null>;
  /** Forgets a stored result; false when there was none. */
  delete(job: string): Promise<boolean>;
  /** The stored results' listings, newest first, at most `limit`, leaving out the jobs `except` names. */
  list(limit: number, except: ReadonlySet<string>): Promise<StoredListing[]>;
}

/** How long and how much the store keeps (oldest results go first once `maxBytes` would be passed). */
export interface ResultRetention {
  /** days a result is kept (default 30) */
  readonly ttlDays?: number;
  /** bytes all stored results may take (default: unbounded) */
  readonly maxBytes?: number;
}

/** Prompts per stored page: a page of typical prompts is a few hundred KiB, a few chunks. */
export const RESULT_PAGE_PROMPTS = 500;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** JSON without bytes: rendered images stay out of the store to keep entries small. */
function json(value: unknown): string {
  return JSON.stringify(value, (k, v: unknown) => (k === 'image' ? undefined : v));
}

const summaryName = (job: string): string => `${job}/summary`;
const pageName = (job: string, page: number): string => `${job}/page-${page}`;

interface SummaryDoc {
  readonly summary: Record<string, unknown>;
  readonly total: number;
  readonly pageSize: number;
}

/** ms a list or a put waits for the index to catch up with the store before reading the store itself */
const INDEX_WAIT_MS = 10_000;

/** Where a store's index watches: the bucket and its stream. */
interface IndexSource {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly bucket: string;
  readonly stream: string;
}

/**
 * Result store in a JetStream object store bucket `<prefix>_results` (file-backed). Lists and the size limit
 * read an index of the bucket kept by a watch (result-index.ts), and the bucket itself only while the index
 * cannot be had.
 */
export class NatsResultStore implements ResultStore {
  private index: Promise<ResultIndex | null>;

  private constructor(
    private readonly os: ObjectStore,
    private readonly maxBytes: number,
    private readonly source: IndexSource,
  ) {
    this.index = this.watch();
    void this.rewatchOnReconnect();
  }

  /**
   * Opens (or creates) bucket `<prefix>_results`: objects kept `ttlDays`, at most `maxBytes` in all,
   * `replicas` copies across the JetStream cluster.
   */
  static async open(nc: NatsConnection, prefix: string, retention: ResultRetention = {}, replicas = 1): Promise<NatsResultStore> {
    const maxBytes = retention.maxBytes ?? -1;
    const ttl = nanos((retention.ttlDays ?? 30) * 86_400_000);
    const os = await nc.jetstream().views.os(`${prefix}_results`, { description: 'ttsnap job results', storage: StorageType.File, ttl, max_bytes: maxBytes, replicas });
    // an existing bucket takes the retention given now (opening alone keeps the bucket's old settings)
    const jsm = await nc.jetstreamManager();
    const stream = (await os.status()).streamInfo;
    const { config } = stream;
    if (config.max_age !== ttl || config.max_bytes !== maxBytes || config.num_replicas !== replicas) {
      await jsm.streams.update(config.name, { ...config, max_age: ttl, max_bytes: maxBytes, num_replicas: replicas });
    }
    return new NatsResultStore(os, maxBytes, { nc, js: nc.jetstream(), jsm, bucket: `${prefix}_results`, stream: config.name });
  }

  async put(job: string, result: StoredResult): Promise<void> {
    const pages: Uint8Array[] = [];
    for (let i = 0; i < result.prompts.length; i += RESULT_PAGE_PROMPTS) {
      pages.push(enc.encode(result.prompts.slice(i, i + RESULT_PAGE_PROMPTS).map(json).join('\n')));
    }
    const head = enc.encode(json({ summary: result.summary, total: result.prompts.length, pageSize: RESULT_PAGE_PROMPTS } satisfies SummaryDoc));
    await this.makeRoom(pages.reduce((n, p) => n + p.length, head.length), job);
    // Pages first, the summary last: a reader finds a result only once every page of it is stored.
    try {
      for (const [i, page] of pages.entries()) await this.os.putBlob({ name: pageName(job, i) }, page);
      // the listing rides in the summary's metadata, so that a job list reads no object's data
      const metadata = result.listing ? { listing: json(result.listing) } : undefined;
      await this.os.putBlob({ name: summaryName(job), ...(metadata ? { metadata } : {}) }, head);
    } catch (err) {
      await this.deleteObjects(job, pages.length).catch(() => {});
      throw err;
    }
  }

  async get(job: string, offset: number, limit: number): Promise<StoredPage | null> {
    const head = await this.os.getBlob(summaryName(job));
    if (!head) return null;
    const doc = JSON.parse(dec.decode(head)) as SummaryDoc;
    const end = Math.min(doc.total, offset + limit);
    const prompts: unknown[] = [];
    for (let page = Math.floor(offset / doc.pageSize); page * doc.pageSize < end; page++) {
      const data = await this.os.getBlob(pageName(job, page));
      if (!data) throw new Error(`stored result of job ${job}: page ${page} is missing`);
      const first = page * doc.pageSize;
      const lines = dec.decode(data).split('\n');
      for (let i = Math.max(offset - first, 0); i < lines.length && first + i < end; i++) prompts.push(JSON.parse(lines[i] as string));
    }
    return { summary: doc.summary, prompts, total: doc.total };
  }

  async delete(job: string): Promise<boolean> {
    const head = await this.os.getBlob(summaryName(job));
    if (!head) return false;
    const doc = JSON.parse(dec.decode(head)) as SummaryDoc;
    await this.deleteObjects(job, Math.ceil(doc.total / doc.pageSize));
    return true;
  }

  async list(limit: number, except: ReadonlySet<string>): Promise<StoredListing[]> {
    const out: StoredListing[] = [];
    for (const { job, listing } of (await this.objects()).list(limit, except)) {
      if (listing) out.push({ job, listing: JSON.parse(listing) as Record<string, unknown> });
      else {
        // stored before results carried a listing: what the summary itself says
        const head = await this.os.getBlob(summaryName(job));
        if (head) out.push({ job, listing: listingOf(job, JSON.parse(dec.decode(head)) as SummaryDoc) });
      }
    }
    return out;
  }

  /** What the bucket holds now: from the index, or (while it cannot be had) from the bucket's list. */
  private async objects(): Promise<BucketObjects> {
    return (await this.current())?.objects ?? BucketObjects.of(await this.os.list());
  }

  /** The index, up to date with the bucket; null when it cannot be had now (read the bucket). */
  private async current(): Promise<ResultIndex | null> {
    let index = await this.index;
    // a watch that ended starts again
    if (!index || index.broken) index = await this.rewatch();
    if (!index) return null;
    const ok = await index.current(INDEX_WAIT_MS).then(
      () => true,
      () => false,
    );
    if (ok) return index;
    // behind for long: a watch that stalls without failing is replaced (this call reads the bucket)
    void this.rewatch();
    return null;
  }

  private watch(): Promise<ResultIndex | null> {
    const { js, jsm, bucket, stream } = this.source;
    return ResultIndex.watch(js, jsm, bucket, stream).catch(() => null);
  }

  /** Replaces the watch with a new one (which reads the bucket's metadata again). */
  private rewatch(): Promise<ResultIndex | null> {
    const old = this.index;
    this.index = this.watch();
    void old.then((i) => i?.stop());
    return this.index;
  }

  /**
   * A nats-server that restarted lost the watch's consumer, and the watch would notice only after missed
   * heartbeats (lists meanwhile waited 10 s, then read the bucket): a reconnect starts a new one at once.
   */
  private async rewatchOnReconnect(): Promise<void> {
    for await (const s of this.source.nc.status()) if (s.type === Events.Reconnect) void this.rewatch();
  }

  private async deleteObjects(job: string, pages: number): Promise<void> {
    await this.os.delete(summaryName(job)).catch(() => {});
    for (let i = 0; i < pages; i++) await this.os.delete(pageName(job, i)).catch(() => {});
  }

  /**
   * Under a size limit, the oldest results go (whole, summary first) until `bytes` more fit; a result larger than
   * the limit itself is refused before anything is dropped for it.
   */
  private async makeRoom(bytes: number, job: string): Promise<void> {
    if (this.maxBytes <= 0) return;
    if (bytes > this.maxBytes) throw new Error(`the result takes ${bytes} bytes, more than the store keeps in all (${this.maxBytes}; raise --results-max-mb)`);
    const objects = await this.objects();
    let used = objects.bytes;
    if (used + bytes <= this.maxBytes) return;
    for (const owner of objects.byAge()) {
      if (used + bytes <= this.maxBytes) break;
      if (owner.job === job) continue;
      await this.deleteObjects(owner.job, owner.names.filter((n) => n !== summaryName(owner.job)).length);
      used -= owner.bytes;
    }
  }
}

/** A listing from a stored summary alone: its state, prompts, N and cost (no label or pool: it has none). */
function listingOf(job: string, doc: SummaryDoc): Record<string, unknown> {
  const s = doc.summary as { state?: string; ledger?: { cost?: number }; provenance?: { candidates_per_prompt?: number } };
  return { job, state: s.state ?? '', prompts: doc.total, prompts_done: doc.total, candidates_per_prompt: s.provenance?.candidates_per_prompt ?? 0, cost: Number(s.ledger?.cost ?? 0) };
}
