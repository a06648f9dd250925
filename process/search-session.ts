import type { CandidatePreview__Output } from '../core/generated/ttsnap/v1/CandidatePreview.js';
import type { JobEvent } from '../core/generated/ttsnap/v1/JobEvent.js';
import type { JobResult } from '../core/generated/ttsnap/v1/JobResult.js';
import type { JobResult__Output } from '../core/generated/ttsnap/v1/JobResult.js';
import type { SubmitJobRequest } from '../core/generated/ttsnap/v1/SubmitJobRequest.js';
import type { BackendInfo } from '../core/contract/backend-info.js';
import { CoordinatorGrpcClient } from '../coordinator/client.js';
import { ResultCollector } from '../coordinator/result.js';
import { plaintextContext, type SecurityContext } from '../core/security/context.js';
import { startEmbedded, type EmbeddedOptions } from './embedded.js';

/** An event as either transport delivers it (numbers may arrive as strings from the proto loader). */
export type AnyJobEvent = JobEvent;

/** What `ttsnap search` needs from a coordinator, embedded or remote: one flow for both modes. */
export interface SearchSession {
  /** the workers' backend when known here (embedded), else null (the coordinator validates) */
  readonly backend: BackendInfo | null;
  /** `previews`: the job was accepted with SubmitJobRequest.previews (false from a coordinator too old to know it) */
  submit(req: SubmitJobRequest): Promise<{ job: string; candidates: number; previews: boolean }>;
  /**
   * Follows the job's events until it ends; resolves with its final state and its result gathered from the
   * events (prompt_done events and the done summary), or null when some prompt did not come as an event.
   */
  watch(job: string, onEvent: (e: AnyJobEvent) => void): Promise<{ state: string; result: JobResult | JobResult__Output | null }>;
  result(job: string): Promise<JobResult | JobResult__Output>;
  /** search --contact-sheets with a coordinator: the previews of a finished prompt (its number in the job), once */
  promptPreviews?(job: string, prompt: number): Promise<CandidatePreview__Output[]>;
  cancel(job: string): Promise<void>;
  close(): Promise<void>;
}

/** A session over an embedded cluster started for it (closed with the session). */
export async function embeddedSession(opts: EmbeddedOptions): Promise<SearchSession> {
  const cluster = await startEmbedded(opts);
  const c = cluster.coordinator;
  return {
    backend: c.backend,
    async submit(req) {
      const job = c.submit(req);
      return { job: job.id, candidates: job.spec.n, previews: job.spec.previews };
    },
    watch(job, onEvent) {
      const collect = new ResultCollector();
      return new Promise((resolve) => {
        c.watch(job, (e) => {
          collect.onEvent(e);
          onEvent(e);
          if (e.event === 'done') resolve({ state: e.done?.state ?? 'done', result: collect.complete ? collect.result() : null });
        });
      });
    },
    async result(job) {
      return c.result(job);
    },
    async cancel(job) {
      c.cancel(job);
    },
    close: () => cluster.close(),
  };
}

/** How a remote session rides out a coordinator restart (see CoordinatorGrpcClient.watchDurably). */
export interface ReconnectOptions {
  readonly reconnectMs: number;
  /** told once per outage (search prints one line) */
  readonly onLost: (job: string, err: Error) => void;
}

/** A session with the coordinator at HOST:PORT; it closes `security` (its certificate watcher) with itself. */
export function remoteSession(
  address: string,
  security: SecurityContext = plaintextContext(),
  reconnect: ReconnectOptions = { reconnectMs: 0, onLost: () => {} },
): SearchSession {
  const client = new CoordinatorGrpcClient(address, security);
  return {
    backend: null,
    submit: (req) => client.submit(req),
    async watch(job, onEvent) {
      const collect = new ResultCollector();
      const done = await client.watchDurably(
        job,
        (e) => {
          collect.onEvent(e);
          onEvent(e as unknown as JobEvent);
        },
        reconnect.reconnectMs,
        (err) => reconnect.onLost(job, err),
      );
      return { state: done.done?.state ?? 'done', result: collect.complete ? collect.result() : null };
    },
    result: (job) => client.result(job),
    promptPreviews: (job, prompt) => client.promptPreviews(job, prompt),
    async cancel(job) {
      await client.cancel(job);
    },
    async close() {
      client.close();
      security.close();
    },
  };
}
