import type { ObjectInfo } from 'nats';

/** One stored object: its bytes, and the stream sequence of its metadata message. */
interface Part {
  readonly size: number;
  readonly seq: number;
}

/** What the index keeps of one job's stored objects. */
interface StoredJob {
  /** its objects, by name */
  readonly parts: Map<string, Part>;
  /** ms of its oldest object (the job whose result goes first when room is made) */
  oldest: number;
  /** its summary's mtime in ms, once the summary is stored: only then is the result readable and listed */
  listedAt: number | null;
  /** the listing in the summary's metadata (JSON), or null for a result stored before results carried one */
  listing: string | null;
}

/** A stored result as a list shows it, newest first. */
export interface IndexedListing {
  readonly job: string;
  /** the listing's JSON, or null: read the summary */
  readonly listing: string | null;
}

/** The fields of an object's metadata message (nats.js's ObjectInfo) the index reads. */
export interface MetaFields {
  readonly name?: unknown;
  readonly size?: unknown;
  readonly mtime?: unknown;
  readonly deleted?: unknown;
  readonly metadata?: { readonly listing?: unknown } | null;
}

/**
 * A result bucket's objects grouped by job: what a job list and the size limit read. The index keeps one current
 * from a watch (result-index.ts); a store that cannot have the index builds one from the bucket's list.
 */
export class BucketObjects {
  private readonly jobs = new Map<string, StoredJob>();
  private total = 0;

  /** From a list of the bucket's objects (nats.js ObjectStore.list). */
  static of(infos: readonly ObjectInfo[]): BucketObjects {
    const objects = new BucketObjects();
    for (const o of infos) if (!o.deleted) objects.record(o.name, o, 0);
    return objects;
  }

  /** Bytes of all stored objects. */
  get bytes(): number {
    return this.total;
  }

  /** Stored results newest first, at most `limit`, leaving out the jobs `except` names. */
  list(limit: number, except: ReadonlySet<string>): IndexedListing[] {
    const listed: { job: string; at: number; listing: string | null }[] = [];
    for (const [job, s] of this.jobs) if (s.listedAt !== null && !except.has(job)) listed.push({ job, at: s.listedAt, listing: s.listing });
    return listed
      .sort((a, b) => b.at - a.at)
      .slice(0, limit)
      .map(({ job, listing }) => ({ job, listing }));
  }

  /** Every job with stored objects, its bytes and object names, the job with the oldest object first. */
  byAge(): { job: string; bytes: number; names: string[] }[] {
    return [...this.jobs]
      .sort(([, a], [, b]) => a.oldest - b.oldest)
      .map(([job, s]) => ({ job, bytes: [...s.parts.values()].reduce((n, p) => n + p.size, 0), names: [...s.parts.keys()] }));
  }

  partOf(name: string): Part | undefined {
    return this.jobs.get(ownerOf(name))?.parts.get(name);
  }

  /** Applies one object's metadata (stored or deleted); `seq` is its metadata message's stream sequence. */
  record(name: string, meta: MetaFields, seq: number): void {
    const job = ownerOf(name);
    const summary = name === `${job}/summary`;
    let s = this.jobs.get(job);
    const before = s?.parts.get(name)?.size ?? 0;
    if (meta.deleted === true) {
      if (!s) return;
      s.parts.delete(name);
      this.total -= before;
      if (summary) [s.listedAt, s.listing] = [null, null];
      if (s.parts.size === 0) this.jobs.delete(job);
      return;
    }
    const size = typeof meta.size === 'number' ? meta.size : 0;
    const at = typeof meta.mtime === 'string' ? Date.parse(meta.mtime) || 0 : 0;
    if (!s) this.jobs.set(job, (s = { parts: new Map(), oldest: at, listedAt: null, listing: null }));
    s.parts.set(name, { size, seq });
    s.oldest = Math.min(s.oldest, at);
    this.total += size - before;
    if (summary) [s.listedAt, s.listing] = [at, typeof meta.metadata?.listing === 'string' ? meta.metadata.listing : null];
  }
}

/** The job an object of the bucket belongs to (its name up to the last '/'). */
export function ownerOf(name: string): string {
  return name.slice(0, name.lastIndexOf('/'));
}
