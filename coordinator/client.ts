import * as grpc from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { CallError, ValidationError } from '../core/errors.js';
import type { CoordinatorClient as Stub } from '../core/generated/ttsnap/v1/Coordinator.js';
import type { JobEvent__Output } from '../core/generated/ttsnap/v1/JobEvent.js';
import type { JobResult__Output } from '../core/generated/ttsnap/v1/JobResult.js';
import type { CandidatePreview__Output } from '../core/generated/ttsnap/v1/CandidatePreview.js';
import type { GetResultRequest } from '../core/generated/ttsnap/v1/GetResultRequest.js';
import type { GetResultResponse__Output } from '../core/generated/ttsnap/v1/GetResultResponse.js';
import type { JobSummary__Output } from '../core/generated/ttsnap/v1/JobSummary.js';
import type { SubmitJobRequest } from '../core/generated/ttsnap/v1/SubmitJobRequest.js';
import type { SubmitJobResponse__Output } from '../core/generated/ttsnap/v1/SubmitJobResponse.js';
import type { DeleteJobResponse__Output } from '../core/generated/ttsnap/v1/DeleteJobResponse.js';
import { channelOptions, coordinatorProto, MAX_COORDINATOR_MESSAGE } from '../core/grpc/load.js';
import { splitValidation } from '../core/grpc/validation-details.js';
import { plaintextContext, type SecurityContext } from '../core/security/context.js';
import { refusalOf } from '../core/security/diagnose.js';
import { RefusedError } from '../core/security/errors.js';

/** A failed coordinator call that is not bad input (kept with its gRPC code). */
export class CoordinatorCallError extends CallError {
  constructor(
    readonly code: grpc.status,
    details: string,
    options?: { cause?: unknown },
  ) {
    super(`coordinator: ${grpc.status[code]}: ${details}`, reachOf(code, details), options);
  }
}

/**
 * Refused: authentication or permission denied, or a TLS failure (grpc-js reports those as UNAVAILABLE and
 * names them in the details). Unreachable: no connection, a deadline, or a server going away.
 */
function reachOf(code: grpc.status, details: string): CallError['reach'] {
  if (code === grpc.status.UNAUTHENTICATED || code === grpc.status.PERMISSION_DENIED) return 'refused';
  if (code === grpc.status.UNAVAILABLE && /\b(ssl|tls|certificate|handshake)\b/i.test(details)) return 'refused';
  if (code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED || code === grpc.status.CANCELLED) return 'unreachable';
  return 'answered';
}

function isServiceError(x: unknown): x is grpc.ServiceError {
  return x instanceof Error && typeof (x as Partial<grpc.ServiceError>).code === 'number';
}

/** A failed call as the error class it means (bad input, refusal, or a coordinator call error). */
export function translate(err: grpc.ServiceError, address: string): Error {
  if (err.code === grpc.status.PERMISSION_DENIED || err.code === grpc.status.UNAUTHENTICATED) return new RefusedError(address, `${grpc.status[err.code]}: ${err.details}`, { cause: err });
  if (err.code === grpc.status.INVALID_ARGUMENT) {
    const v = splitValidation(err.details);
    if (v) return new ValidationError(v.field, v.problem, v.allowed, { cause: err });
  }
  return new CoordinatorCallError(err.code, err.details, { cause: err });
}

/** Prompts per SubmitJobUpload message; a request with more goes as an upload (1,000 texts of 2,000 characters: 2 MB). */
export const UPLOAD_CHUNK_PROMPTS = 1000;

function promptCount(req: SubmitJobRequest): number {
  return Math.max(req.prompts?.length ?? 0, req.texts?.length ?? 0);
}

/** The messages of an upload: the request with its first chunk of prompts, then a message per further chunk. */
export function uploadMessages(req: SubmitJobRequest): SubmitJobRequest[] {
  const out: SubmitJobRequest[] = [];
  const n = promptCount(req);
  for (let from = 0; from === 0 || from < n; from += UPLOAD_CHUNK_PROMPTS) {
    const slice = <T>(list: readonly T[] | undefined): T[] => (list ?? []).slice(from, from + UPLOAD_CHUNK_PROMPTS);
    const prompts = { prompts: slice(req.prompts), texts: slice(req.texts), prompt_settings: slice(req.prompt_settings) };
    out.push(from === 0 ? { ...req, ...prompts } : prompts);
  }
  return out;
}

/** A coordinator refused WatchJobBatches as one older than that call does (CoordinatorGrpcClient.watch then uses WatchJob). */
class OlderCoordinator extends Error {}

/** Client of the Coordinator service: what `ttsnap search --coordinator` and the tests use. */
export class CoordinatorGrpcClient {
  readonly stub: Stub;
  /** false once the coordinator refused WatchJobBatches as an older one does: WatchJob, one message an event */
  private batchedWatch = true;

  constructor(
    readonly address: string,
    private readonly security: SecurityContext = plaintextContext(),
  ) {
    const Ctor = coordinatorProto().ttsnap.v1.Coordinator;
    this.stub = new Ctor(address, security.channelCredentials(), channelOptions(MAX_COORDINATOR_MESSAGE));
  }

  /**
   * Submits a job; while the coordinator has no worker yet (UNAVAILABLE), retries for up to `waitMs`. A refusal
   * (TLS, identity, role) is never retried: it fails at once as a RefusedError.
   */
  async submit(req: SubmitJobRequest, waitMs = 30_000): Promise<{ job: string; candidates: number; previews: boolean }> {
    const until = Date.now() + waitMs;
    for (;;) {
      try {
        const res = promptCount(req) > UPLOAD_CHUNK_PROMPTS ? await this.upload(req) : await this.unary<SubmitJobRequest, SubmitJobResponse__Output>('SubmitJob', req);
        return { job: res.job, candidates: res.candidates_per_prompt, previews: res.previews };
      } catch (err) {
        const cause = err instanceof CoordinatorCallError ? err.cause : null;
        const refusal = isServiceError(cause) ? await refusalOf(cause, this.address, this.security) : null;
        if (refusal) throw refusal;
        if (!(err instanceof CoordinatorCallError && err.code === grpc.status.UNAVAILABLE && Date.now() < until)) throw err;
        await sleep(250);
      }
    }
  }

  /** SubmitJobUpload: the request without its prompts, then the prompts UPLOAD_CHUNK_PROMPTS a message. */
  private upload(req: SubmitJobRequest): Promise<SubmitJobResponse__Output> {
    return new Promise((resolve, reject) => {
      const call = this.stub.SubmitJobUpload({ deadline: Date.now() + 120_000 }, (err, res) => (err ? reject(translate(err, this.address)) : resolve(res as SubmitJobResponse__Output)));
      for (const message of uploadMessages(req)) call.write(message);
      call.end();
    });
  }

  /**
   * Streams a job's events (those after `afterSeq`) until it ends; resolves with the final `done` event. Asks for
   * them batched (WatchJobBatches: a message, and a write of the coordinator's, per 50 ms instead of per event);
   * a coordinator older than that call answers UNIMPLEMENTED or, with authorisation on, PERMISSION_DENIED (its
   * role table lacks the call) before any event, and this client then asks it with WatchJob from then on.
   */
  watch(job: string, onEvent: (e: JobEvent__Output) => void, afterSeq = 0): Promise<JobEvent__Output> {
    const req = { job, after_seq: afterSeq };
    if (!this.batchedWatch) return this.follow(this.stub.WatchJob(req), (e) => [e], onEvent, () => false);
    const older = (err: grpc.ServiceError, heard: boolean): boolean => !heard && (err.code === grpc.status.UNIMPLEMENTED || err.code === grpc.status.PERMISSION_DENIED);
    return this.follow(this.stub.WatchJobBatches(req), (b) => b.events, onEvent, older).catch((err: unknown) => {
      if (!(err instanceof OlderCoordinator)) throw err;
      this.batchedWatch = false;
      return this.watch(job, onEvent, afterSeq);
    });
  }

  /**
   * Reads a watch stream of either form (`eventsOf` a message) until its done event; `older` says whether an
   * error (after some messages were `heard`, or none) means the coordinator does not know the call.
   */
  private follow<M>(call: grpc.ClientReadableStream<M>, eventsOf: (m: M) => readonly JobEvent__Output[], onEvent: (e: JobEvent__Output) => void, older: (err: grpc.ServiceError, heard: boolean) => boolean): Promise<JobEvent__Output> {
    return new Promise((resolve, reject) => {
      let done: JobEvent__Output | null = null;
      let heard = false;
      call.on('data', (m: M) => {
        heard = true;
        for (const e of eventsOf(m)) {
          onEvent(e);
          if (e.event === 'done') done = e;
        }
      });
      call.on('error', (err: grpc.ServiceError) => reject(older(err, heard) ? new OlderCoordinator() : translate(err, this.address)));
      call.on('end', () => (done ? resolve(done) : reject(new CoordinatorCallError(grpc.status.UNAVAILABLE, 'the event stream ended before the job'))));
    });
  }

  /**
   * As watch, riding out a coordinator restart: when the coordinator cannot be reached (or its stream ends before
   * the job), reconnects with back-off for at most `reconnectMs` since the last contact and follows the job from
   * the last event seen. `onLost` is told once per outage. TLS and authorisation refusals are never retried, nor
   * are answers on the merits (NOT_FOUND...).
   */
  async watchDurably(job: string, onEvent: (e: JobEvent__Output) => void, reconnectMs: number, onLost: (err: Error) => void): Promise<JobEvent__Output> {
    let last = 0;
    for (;;) {
      let lostAt = 0;
      let wait = 250;
      try {
        return await this.watch(job, (e) => {
          last = Math.max(last, e.seq);
          onEvent(e);
        }, last);
      } catch (err) {
        if (!(err instanceof CallError && err.reach === 'unreachable')) throw err;
        lostAt = Date.now();
        onLost(err);
        // wait for the coordinator to answer again (ListJobs is cheap), within the window
        for (;;) {
          if (Date.now() - lostAt > reconnectMs) throw new CoordinatorCallError(grpc.status.UNAVAILABLE, `no coordinator for ${Math.round(reconnectMs / 1000)} s while following job ${job}`, { cause: err });
          await sleep(wait);
          wait = Math.min(wait * 2, 5000);
          const ok = await this.unary('ListJobs', { limit: 1 }, 5000).then(() => true, (e: unknown) => !(e instanceof CallError && e.reach === 'unreachable') ? Promise.reject(e) : false);
          if (ok) break;
        }
      }
    }
  }

  /** The whole result, paged through GetResult (`pageSize` prompts a call), prompts in request order. */
  async result(job: string, pageSize = 1000): Promise<JobResult__Output> {
    const prompts: JobResult__Output['prompts'] = [];
    for (;;) {
      const res = await this.resultPage(job, prompts.length, pageSize);
      if (!res.result) throw new CoordinatorCallError(grpc.status.INTERNAL, 'empty result');
      prompts.push(...res.result.prompts);
      if (res.result.prompts.length === 0 || prompts.length >= res.total_prompts) return { ...res.result, prompts };
    }
  }

  /** One GetResult page: at most `limit` prompts from `offset` (fewer when they would pass 4 MiB), and the total. */
  resultPage(job: string, offset: number, limit: number): Promise<GetResultResponse__Output> {
    return this.unary<GetResultRequest, GetResultResponse__Output>('GetResult', { job, offset, limit });
  }

  async cancel(job: string): Promise<string> {
    return (await this.unary<{ job: string }, { state: string }>('CancelJob', { job })).state;
  }

  /** Forgets an ended job (its stored result and journal too); says what there was to delete. */
  async delete(job: string): Promise<DeleteJobResponse__Output> {
    return this.unary<{ job: string }, DeleteJobResponse__Output>('DeleteJob', { job });
  }

  /** search --contact-sheets: the previews of a finished prompt of the job (its number in the job), which the coordinator then forgets. */
  promptPreviews(job: string, prompt: number, deadlineMs = 60_000): Promise<CandidatePreview__Output[]> {
    return new Promise((resolve, reject) => {
      const out: CandidatePreview__Output[] = [];
      const call = this.stub.GetPromptPreviews({ job, prompt }, { deadline: Date.now() + deadlineMs });
      call.on('data', (p: CandidatePreview__Output) => out.push(p));
      call.on('error', (err: grpc.ServiceError) => reject(translate(err, this.address)));
      call.on('end', () => resolve(out));
    });
  }

  async list(limit = 100): Promise<JobSummary__Output[]> {
    return (await this.unary<{ limit: number }, { jobs: JobSummary__Output[] }>('ListJobs', { limit })).jobs;
  }

  close(): void {
    this.stub.close();
  }

  private unary<Req, Res>(method: 'SubmitJob' | 'GetResult' | 'CancelJob' | 'ListJobs' | 'DeleteJob', req: Req, deadlineMs = 30_000): Promise<Res> {
    return new Promise((resolve, reject) => {
      const fn = (this.stub[method] as unknown as (r: Req, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Res) => void) => void).bind(this.stub);
      fn(req, { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(translate(err, this.address)) : resolve(res as Res)));
    });
  }
}
