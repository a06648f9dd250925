import { foldJournal, JournalVersionError, type JobJournal, type JournalRecord } from './records.js';

/** What a coordinator found in its journal on start. */
export interface LoadedJournal {
  readonly jobs: JobJournal[];
  /** jobs written with a schema this coordinator does not read: reported, never resumed */
  readonly refused: JournalVersionError[];
  /** records that could not be parsed (skipped) */
  readonly malformed: number;
}

/**
 * Where job journals live. Appends never block the scheduler and never throw: a store that cannot write now
 * keeps the records, in order, and writes them once it can (a NATS restart loses none).
 */
export interface JournalStore {
  append(record: JournalRecord): void;
  /** Resolves true once every record appended so far is stored, false if that takes longer than timeoutMs. */
  flush(timeoutMs: number): Promise<boolean>;
  load(): Promise<LoadedJournal>;
  /** Drops an ended job's stage, prompt and event records; its spec and end stay (resubmission finds the job). */
  compact(job: string): Promise<void>;
  /** Drops every record of the job (`jobs delete`); false when there was none. */
  forget(job: string): Promise<boolean>;
  /** Stops writing (after flush, if the caller wants what is pending stored). */
  close(): void;
}

/** Groups decoded records by job and folds each; a version refusal drops that job only. */
export function foldAll(records: Iterable<JournalRecord | JournalVersionError | null>): LoadedJournal {
  const byJob = new Map<string, JournalRecord[]>();
  const refused = new Map<string, JournalVersionError>();
  let malformed = 0;
  for (const r of records) {
    if (r === null) malformed++;
    else if (r instanceof JournalVersionError) refused.set(r.job, r);
    else {
      const list = byJob.get(r.job) ?? [];
      list.push(r);
      byJob.set(r.job, list);
    }
  }
  const jobs: JobJournal[] = [];
  for (const [job, list] of byJob) {
    if (refused.has(job)) continue;
    const folded = foldJournal(list);
    if (folded) jobs.push(folded);
  }
  jobs.sort((a, b) => a.spec.createdAt - b.spec.createdAt);
  return { jobs, refused: [...refused.values()], malformed };
}

/** In-process journal (embedded mode, unit tests): records kept as written. */
export class MemoryJournalStore implements JournalStore {
  readonly records: JournalRecord[] = [];

  append(record: JournalRecord): void {
    this.records.push(structuredClone(record));
  }

  async flush(): Promise<boolean> {
    return true;
  }

  async load(): Promise<LoadedJournal> {
    return foldAll(this.records.map((r) => structuredClone(r)));
  }

  async compact(job: string): Promise<void> {
    const keep = this.records.filter((r) => r.job !== job || r.kind === 'spec' || r.kind === 'end');
    this.records.splice(0, this.records.length, ...keep);
  }

  async forget(job: string): Promise<boolean> {
    const keep = this.records.filter((r) => r.job !== job);
    const had = keep.length < this.records.length;
    this.records.splice(0, this.records.length, ...keep);
    return had;
  }

  close(): void {}
}
