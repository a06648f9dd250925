/**
 * The typed TypeScript client of a ttsnap coordinator, exported by the package as `ttsnap/client`:
 * submit, watch, result, cancel, list, delete and promptPreviews, with the semantics of `ttsnap jobs` and `ttsnap
 * search --coordinator` (they use the same calls). A narrow surface: the gRPC stubs and the process internals stay
 * private, and what crosses it are the proto's generated types and plain JSON reports.
 *
 * Stability: the gRPC API (proto/ttsnap/v1) only grows within v1 (new fields and RPCs, never a renumbered or
 * retyped field); this module follows the package's semver.
 */
import { CoordinatorGrpcClient } from '../coordinator/client.js';
import { resultJson, type SearchReport } from '../coordinator/result.js';
import type { CandidatePreview__Output } from '../core/generated/ttsnap/v1/CandidatePreview.js';
import type { DeleteJobResponse__Output } from '../core/generated/ttsnap/v1/DeleteJobResponse.js';
import type { JobEvent__Output } from '../core/generated/ttsnap/v1/JobEvent.js';
import type { JobSummary__Output } from '../core/generated/ttsnap/v1/JobSummary.js';
import type { SubmitJobRequest } from '../core/generated/ttsnap/v1/SubmitJobRequest.js';
import { plaintextContext, SecurityContext } from '../core/security/context.js';
import { compileSecurity } from '../core/security/options.js';

export type { SubmitJobRequest } from '../core/generated/ttsnap/v1/SubmitJobRequest.js';
export type { JobEvent__Output as JobEvent } from '../core/generated/ttsnap/v1/JobEvent.js';
export type { JobSummary__Output as JobSummary } from '../core/generated/ttsnap/v1/JobSummary.js';
export type { CandidatePreview__Output as CandidatePreview } from '../core/generated/ttsnap/v1/CandidatePreview.js';
export type { PromptSettings } from '../core/generated/ttsnap/v1/PromptSettings.js';
export type { SamplingSettings } from '../core/generated/ttsnap/v1/SamplingSettings.js';
export type { SearchReport, ProvenanceJson } from '../coordinator/result.js';
export { ValidationError, CallError } from '../core/errors.js';
export { CoordinatorCallError } from '../coordinator/client.js';
export { RefusedError } from '../core/security/errors.js';

/** How to reach the coordinator: plaintext by default; mutual TLS with the three files (PEM paths). */
export interface TtsnapClientOptions {
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string };
  /** a bearer token file, sent over TLS (coordinators started with --client-tokens-file) */
  readonly tokenFile?: string;
}

/** Options of watch(). */
export interface WatchOptions {
  /** resume after this event sequence number (JobEvent.seq; default 0: from the first event) */
  readonly afterSeq?: number;
  /** keep reconnecting this long to a coordinator that went away (default 0: fail at once) */
  readonly reconnectMs?: number;
  /** told once per outage while reconnecting */
  readonly onLost?: (err: Error) => void;
}

export class TtsnapClient {
  private readonly grpc: CoordinatorGrpcClient;

  private constructor(
    readonly address: string,
    private readonly security: SecurityContext,
  ) {
    this.grpc = new CoordinatorGrpcClient(address, security);
  }

  /** A client of the coordinator at HOST:PORT (no call is made until the first request). */
  static connect(address: string, o: TtsnapClientOptions = {}): TtsnapClient {
    const secured = o.tls || o.tokenFile;
    const security = secured
      ? new SecurityContext(compileSecurity({ tlsCert: o.tls?.cert, tlsKey: o.tls?.key, tlsCa: o.tls?.ca, tokenFile: o.tokenFile }))
      : plaintextContext();
    return new TtsnapClient(address, security);
  }

  /**
   * Submits a job: trace prompt indices (`prompts`) or texts, a budget or N (`candidates`), schedule, seed,
   * policy, rewards, per-prompt overrides (`prompt_settings`). More than 1,000 prompts go as a chunked upload.
   * With `request_id`, submitting again returns the same job. Bad input rejects with a ValidationError naming
   * the field; while the coordinator has no worker yet it retries for up to `waitMs`.
   */
  submit(req: SubmitJobRequest, waitMs = 30_000): Promise<{ job: string; candidatesPerPrompt: number }> {
    return this.grpc.submit(req, waitMs).then((r) => ({ job: r.job, candidatesPerPrompt: r.candidates }));
  }

  /**
   * Follows a job's events (stage, pruned, moved, budget, worker_lost, waiting, prompt_done with each prompt's
   * result) until it ends; resolves with the final `done` event, whose `result` is the job's summary.
   */
  watch(job: string, onEvent: (e: JobEvent__Output) => void, o: WatchOptions = {}): Promise<JobEvent__Output> {
    if (!o.reconnectMs) return this.grpc.watch(job, onEvent, o.afterSeq ?? 0);
    return this.grpc.watchDurably(job, onEvent, o.reconnectMs, o.onLost ?? (() => {}));
  }

  /** The whole result as `ttsnap jobs result --json` prints it (paged through GetResult; prompts in request order). */
  async result(job: string, topK = 0): Promise<SearchReport> {
    return resultJson(await this.grpc.result(job), topK);
  }

  /** Cancels a job; resolves with its state after. */
  cancel(job: string): Promise<string> {
    return this.grpc.cancel(job);
  }

  /** Jobs, newest first (at most `limit`, capped at 1,000). */
  list(limit = 100): Promise<JobSummary__Output[]> {
    return this.grpc.list(limit);
  }

  /** Forgets an ended job: its stored result, its journal and the coordinator's copy. */
  delete(job: string): Promise<DeleteJobResponse__Output> {
    return this.grpc.delete(job);
  }

  /**
   * The contact-sheet previews of one finished prompt of a job submitted with `previews: true` (`prompt`: its
   * number in the job, as its prompt_done event gives it): one per candidate and step it was scored at (a PNG
   * thumbnail and each reward's score), candidates then steps ascending. The coordinator hands them over once and
   * forgets them, so fetch each prompt's after its prompt_done (or within 2 minutes of the job's end): a second
   * call, or one for a job without previews, resolves with none. An unknown job rejects with a
   * CoordinatorCallError (NOT_FOUND) naming it.
   */
  promptPreviews(job: string, prompt: number): Promise<CandidatePreview__Output[]> {
    return this.grpc.promptPreviews(job, prompt);
  }

  close(): void {
    this.grpc.close();
    this.security.close();
  }
}
