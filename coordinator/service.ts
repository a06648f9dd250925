import * as grpc from '@grpc/grpc-js';
import { ValidationError } from '../core/errors.js';
import type { CoordinatorHandlers } from '../core/generated/ttsnap/v1/Coordinator.js';
import type { CandidatePreview } from '../core/generated/ttsnap/v1/CandidatePreview.js';
import type { JobEvent } from '../core/generated/ttsnap/v1/JobEvent.js';
import type { JobEventBatch } from '../core/generated/ttsnap/v1/JobEventBatch.js';
import type { PromptPreviewsRequest__Output } from '../core/generated/ttsnap/v1/PromptPreviewsRequest.js';
import type { SubmitJobRequest, SubmitJobRequest__Output } from '../core/generated/ttsnap/v1/SubmitJobRequest.js';
import type { SubmitJobResponse } from '../core/generated/ttsnap/v1/SubmitJobResponse.js';
import { parseHostPort } from '../core/grpc/address.js';
import { coordinatorProto, MAX_COORDINATOR_MESSAGE } from '../core/grpc/load.js';
import { toServiceError, unary } from '../core/grpc/status.js';
import { serve, type ServeOptions, type ServingServer } from '../core/grpc/serve.js';
import { NO_METRICS, type MetricsSink } from '../core/metrics/sink.js';
import { callerOf } from '../core/security/authorizer.js';
import { CallerQuota, DEFAULT_MAX_JOBS_PER_CLIENT } from '../core/security/quota.js';
import { checkBackendInfo, checkWorkerId, jobField } from '../core/security/requests.js';
import { infoFromProto } from '../core/contract/backend-info.js';
import { checkWorkerProtocol, PROTOCOL_VERSION } from '../core/contract/protocol.js';
import { collectHandlers } from './collect/serve.js';
import type { Coordinator } from './coordinator.js';
import { eventBatches } from './event-batches.js';
import { GrpcWorkerClient } from './grpc-worker-client.js';
import { JobUpload } from './job-upload.js';
import { watchHandler } from './watch-handler.js';

/** how long SubmitJob waits for the new job's spec to be journaled before answering anyway */
const JOURNAL_WAIT_MS = 5000;

export interface CoordinatorServiceOptions {
  /** credentials for dialing the workers that register (default plaintext) */
  readonly dial?: grpc.ChannelCredentials;
  /** concurrent jobs, and concurrent watchers, per caller identity */
  readonly maxJobsPerClient?: number;
}

/** The Coordinator gRPC service over the domain Coordinator. */
export function coordinatorHandlers(coord: Coordinator, metrics: MetricsSink = NO_METRICS, opts: CoordinatorServiceOptions = {}): CoordinatorHandlers {
  const max = opts.maxJobsPerClient ?? DEFAULT_MAX_JOBS_PER_CLIENT;
  const jobs = new CallerQuota(max, 'running jobs');
  const watchers = new CallerQuota(max, 'open watchers');
  const watch = { coord, metrics, watchers };
  const submit = async (req: SubmitJobRequest, metadata: grpc.Metadata): Promise<SubmitJobResponse> => {
    // a resubmission of a job that ended before this coordinator started: that job (its result is stored)
    const ended = await coord.endedByRequest(req);
    if (ended) return ended;
    const release = jobs.acquire(callerOf(metadata).name);
    let job;
    try {
      job = coord.submit(req);
    } catch (err) {
      release();
      throw err;
    }
    // The slot is the caller's until the job ends (done, failed or cancelled).
    const stop = coord.watch(job.id, (e) => e.event === 'done' && (release(), queueMicrotask(() => stop())));
    // answered once the job's spec is journaled (a few ms; at most JOURNAL_WAIT_MS): a coordinator that dies
    // right after the answer still resumes the job
    await coord.journaled(JOURNAL_WAIT_MS);
    return { job: job.id, candidates_per_prompt: job.spec.n, previews: job.spec.previews };
  };
  return {
    SubmitJob: unary('SubmitJob', metrics, 'grpcErrors', (req, call) => submit(req, call.metadata)),
    SubmitJobUpload: (call: grpc.ServerReadableStream<SubmitJobRequest__Output, SubmitJobResponse>, callback: grpc.sendUnaryData<SubmitJobResponse>) => {
      const upload = new JobUpload();
      let failed = false;
      const refuse = (err: unknown): void => {
        if (failed) return;
        failed = true;
        const se = toServiceError(err);
        metrics.inc('grpcErrors', { method: 'SubmitJobUpload', code: grpc.status[se.code ?? grpc.status.UNKNOWN] ?? 'UNKNOWN' });
        callback(se);
      };
      call.on('data', (m: SubmitJobRequest__Output) => {
        if (failed) return;
        try {
          upload.add(m);
        } catch (err) {
          refuse(err);
        }
      });
      call.on('error', refuse);
      call.on('end', () => {
        if (failed) return;
        Promise.resolve()
          .then(() => submit(upload.request(), call.metadata))
          .then((res) => callback(null, res), refuse);
      });
    },
    DeleteJob: unary('DeleteJob', metrics, 'grpcErrors', (req) => coord.deleteJob(jobField(req.job))),
    WatchJob: watchHandler<JobEvent>(watch, 'WatchJob', (events) => events.map((e) => [e, 1] as const)),
    WatchJobBatches: watchHandler<JobEventBatch>(watch, 'WatchJobBatches', (events) => eventBatches(events).map((batch) => [{ events: batch }, batch.length] as const)),
    // one message per preview (a thumbnail each): no message grows with the prompt or the job
    GetPromptPreviews: (call: grpc.ServerWritableStream<PromptPreviewsRequest__Output, CandidatePreview>) => {
      try {
        for (const p of coord.takePromptPreviews(jobField(call.request.job), call.request.prompt)) call.write(p);
        call.end();
      } catch (err) {
        const se = toServiceError(err);
        metrics.inc('grpcErrors', { method: 'GetPromptPreviews', code: grpc.status[se.code ?? grpc.status.UNKNOWN] ?? 'UNKNOWN' });
        call.emit('error', se);
      }
    },
    GetResult: unary('GetResult', metrics, 'grpcErrors', (req) => coord.resultPage(jobField(req.job), req.offset, req.limit)),
    CancelJob: unary('CancelJob', metrics, 'grpcErrors', async (req) => {
      const id = jobField(req.job);
      // a job that ended before this coordinator started cannot be cancelled: its state, from the stored result
      if (!coord.follows(id)) return { state: (await coord.storedDone(id)).done?.state ?? '' };
      return { state: coord.cancel(id) };
    }),
    ListJobs: unary('ListJobs', metrics, 'grpcErrors', async (req) => ({ jobs: await coord.listJobs(req.limit) })),
    RegisterWorker: unary('RegisterWorker', metrics, 'grpcErrors', (req) => {
      checkWorkerId(req.worker);
      checkWorkerProtocol(req.protocol);
      const ok = { heartbeat_ms: coord.heartbeatMs, accepted: true, reason: '', epoch: coord.epoch, protocol: PROTOCOL_VERSION };
      if (coord.heartbeat(req.worker, req.draining, Number(req.busy_s))) return ok;
      const address = parseHostPort(req.address, 'address');
      const info = infoFromProto(checkBackendInfo(req.info));
      if (!info) throw new ValidationError('info', 'missing or incomplete', 'the backend info of the worker (backend, steps >= 2, max_batch >= 1)');
      const { accepted, reason } = coord.registerWorker(new GrpcWorkerClient(req.worker, address, undefined, opts.dial, (busy) => coord.answered(req.worker, busy)), info, { draining: req.draining, remote: true });
      return { ...ok, accepted, reason };
    }),
    ...collectHandlers(coord, metrics, jobs),
  };
}

/** Starts the Coordinator service and grpc.health.v1 on HOST:PORT (port 0 = any), with TLS and authorisation when given. */
export async function startCoordinatorServer(
  coord: Coordinator,
  address: string,
  metrics: MetricsSink = NO_METRICS,
  opts: CoordinatorServiceOptions & ServeOptions = {},
): Promise<ServingServer> {
  const dial = opts.dial ?? opts.security?.channelCredentials();
  return serve(coordinatorProto().ttsnap.v1.Coordinator.service, coordinatorHandlers(coord, metrics, { ...opts, ...(dial ? { dial } : {}) }), 'ttsnap.v1.Coordinator', MAX_COORDINATOR_MESSAGE, address, opts);
}
