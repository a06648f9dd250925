import type { JobEvent } from '../../core/generated/ttsnap/v1/JobEvent.js';
import type { JobJournal } from './records.js';
import type { JournalStore } from './store.js';

type Listener = (e: JobEvent) => void;
interface Waiter {
  readonly listener: Listener;
  readonly afterSeq: number;
  stop: (() => void) | null;
  cancelled: boolean;
}

/**
 * Jobs a starting coordinator found running in its journal, until they can be rebuilt: that needs the backend
 * the first coordinator compiled the spec with. The spec record carries it (rebuilt at once); a journal written
 * before it did waits for the first worker of its pool to register again. Meanwhile WatchJob on such a job
 * waits here instead of answering NOT_FOUND, and request ids of every journaled job (running or ended) are
 * known, so a resubmission finds its job.
 */
export class PendingResumes {
  private pending = new Map<string, JobJournal>();
  private readonly waiters = new Map<string, Waiter[]>();
  /** client request id -> job id, for idempotent SubmitJob */
  readonly byRequest = new Map<string, string>();
  /** jobs resumed by this coordinator: workers that register are told to drop what they hold of these */
  readonly resumed = new Set<string>();

  constructor(readonly store: JournalStore) {}

  /** Reads the journal; returns the running jobs' ids and the refusals (another schema version). */
  async load(): Promise<{ running: string[]; refused: string[] }> {
    const loaded = await this.store.load();
    for (const j of loaded.jobs) {
      if (j.spec.requestId) this.byRequest.set(j.spec.requestId, j.spec.job);
      if (!j.end) this.pending.set(j.spec.job, j);
    }
    return { running: [...this.pending.keys()], refused: loaded.refused.map((e) => e.message) };
  }

  /** Forgets a pending job that turned out to have ended (its result is stored); false if it was not pending. */
  drop(job: string): boolean {
    return this.pending.delete(job);
  }

  has(job: string): boolean {
    return this.pending.has(job);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Takes the pending journals that `ready` accepts (their pool serves), to rebuild their jobs; their waiters are handed over through attach(). */
  take(ready: (j: JobJournal) => boolean): JobJournal[] {
    const out = [...this.pending.values()].filter(ready);
    for (const j of out) {
      this.pending.delete(j.spec.job);
      this.resumed.add(j.spec.job);
    }
    return out;
  }

  /** Watches a job that is not rebuilt yet; returns the unsubscribe function. */
  watch(job: string, listener: Listener, afterSeq: number): () => void {
    const w: Waiter = { listener, afterSeq, stop: null, cancelled: false };
    const list = this.waiters.get(job) ?? [];
    list.push(w);
    this.waiters.set(job, list);
    return () => {
      w.cancelled = true;
      w.stop?.();
    };
  }

  /** The job is rebuilt: its waiters follow it from where they asked. */
  attach(job: string, watch: (listener: Listener, afterSeq: number) => () => void): void {
    for (const w of this.waiters.get(job) ?? []) if (!w.cancelled) w.stop = watch(w.listener, w.afterSeq);
    this.waiters.delete(job);
  }
}
