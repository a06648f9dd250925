import type { ResultStore, StoredPage } from '../core/bus/result-store.js';
import type { JobEvent } from '../core/generated/ttsnap/v1/JobEvent.js';
import type { JobResult } from '../core/generated/ttsnap/v1/JobResult.js';
import type { JobSummary } from '../core/generated/ttsnap/v1/JobSummary.js';
import type { Logger } from '../core/log/logger.js';
import type { MetricsSink } from '../core/metrics/sink.js';
import { CoordinatorUnavailableError, JobNotFoundError } from './errors.js';

/**
 * Jobs a coordinator knows only from its result store (they ended before it started, or left its memory): what
 * GetResult, WatchJob, CancelJob, ListJobs and a resubmission get of them. Every read that fails is counted
 * (ttsnap_result_store_errors_total) and logged.
 */
export class StoredJobs {
  constructor(
    private readonly store: ResultStore,
    private readonly metrics: MetricsSink,
    private readonly log: Logger,
  ) {}

  /** Prompts [offset, offset + limit) of a stored result; NOT_FOUND without one, UNAVAILABLE when the store cannot be read. */
  async page(id: string, offset: number, limit: number): Promise<StoredPage> {
    const stored = await this.store.get(id, offset, limit).catch((err: unknown) => {
      this.failed('get', err, id);
      throw new CoordinatorUnavailableError(`the result store cannot be read now (${err instanceof Error ? err.message : String(err)}); try again`);
    });
    if (!stored) throw new JobNotFoundError(id);
    return stored;
  }

  /**
   * The done event a watcher of the job gets, built from the stored summary. Not numbered (seq 0): its other
   * events are not kept with the result.
   */
  async done(id: string): Promise<JobEvent> {
    const stored = await this.page(id, 0, 0);
    const result = stored.summary as JobResult;
    return { job: id, at_s: Number(result.timeline?.makespan_s ?? 0), event: 'done', done: { state: result.state ?? '', error: result.error ?? '', result, prompts: stored.total }, seq: 0 };
  }

  /** Candidates per prompt of a stored job; null when the store does not have it (or cannot be read now). */
  async candidatesPerPrompt(id: string): Promise<number | null> {
    const stored = await this.store.get(id, 0, 0).catch(() => null);
    return stored ? Number((stored.summary as JobResult).provenance?.candidates_per_prompt ?? 0) : null;
  }

  /** Up to `limit` stored jobs not in `except`, newest first, as ListJobs shows them; none when the store cannot be read. */
  async list(limit: number, except: ReadonlySet<string>): Promise<JobSummary[]> {
    const stored = await this.store.list(limit, except).catch((err: unknown) => {
      this.failed('list', err);
      return [];
    });
    return stored.map((s) => ({ ...(s.listing as JobSummary), job: s.job }));
  }

  private failed(op: 'get' | 'list', err: unknown, job?: string): void {
    this.metrics.inc('resultStoreErrors', { op });
    this.log.error({ ...(job ? { job } : {}), err }, op === 'list' ? 'result store: list failed; ListJobs shows the jobs in memory only' : 'result store: get failed');
  }
}
