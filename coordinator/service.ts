import * as grpc from '@grpc/grpc-js';
import { ValidationError } from '../core/errors.js';
import type { CoordinatorHandlers } from '../core/generated/ttsnap/v1/Coordinator.js';
import type { JobEvent } from '../core/generated/ttsnap/v1/JobEvent.js';
import type { WatchJobRequest__Output } from '../core/generated/ttsnap/v1/WatchJobRequest.js';
import { parseHostPort } from '../core/grpc/address.js';
import { coordinatorProto, MAX_COORDINATOR_MESSAGE } from '../core/grpc/load.js';
import { toServiceError, unary } from '../core/grpc/status.js';
import { serve, type ServingServer } from '../core/grpc/serve.js';
import { NO_METRICS, type MetricsSink } from '../core/metrics/sink.js';
import { checkBackendInfo, checkWorkerId } from '../core/security/requests.js';
import { infoFromProto } from '../core/contract/backend-info.js';
import type { Coordinator } from './coordinator.js';
import { resultPage } from './result.js';
import { GrpcWorkerClient } from './grpc-worker-client.js';

const HEARTBEAT_MS = 500;

function jobField(job: string): string {
  if (job === '' || job.length > 64) throw new ValidationError('job', job === '' ? 'empty' : `${job.length} characters`, 'a job id from SubmitJob');
  return job;
}

/** The Coordinator gRPC service over the domain Coordinator. */
export function coordinatorHandlers(coord: Coordinator, metrics: MetricsSink = NO_METRICS): CoordinatorHandlers {
  return {
    SubmitJob: unary('SubmitJob', metrics, 'grpcErrors', (req) => {
      const job = coord.submit(req);
      return { job: job.id, candidates_per_prompt: job.spec.n };
    }),
    WatchJob: (call: grpc.ServerWritableStream<WatchJobRequest__Output, JobEvent>) => {
      let stop = (): void => {};
      try {
        stop = coord.watch(jobField(call.request.job), (e) => {
          call.write(e);
          if (e.event === 'done') call.end();
        });
      } catch (err) {
        const se = toServiceError(err);
        metrics.inc('grpcErrors', { method: 'WatchJob', code: grpc.status[se.code ?? grpc.status.UNKNOWN] ?? 'UNKNOWN' });
        call.emit('error', se);
        return;
      }
      call.on('cancelled', () => stop());
      call.on('close', () => stop());
    },
    GetResult: unary('GetResult', metrics, 'grpcErrors', async (req) => resultPage(await coord.storedResult(jobField(req.job)), req.offset, req.limit)),
    CancelJob: unary('CancelJob', metrics, 'grpcErrors', (req) => ({ state: coord.cancel(jobField(req.job)) })),
    ListJobs: unary('ListJobs', metrics, 'grpcErrors', (req) => ({ jobs: coord.list(req.limit) })),
    RegisterWorker: unary('RegisterWorker', metrics, 'grpcErrors', (req) => {
      checkWorkerId(req.worker);
      if (coord.heartbeat(req.worker, req.draining)) return { heartbeat_ms: HEARTBEAT_MS, accepted: true, reason: '' };
      const address = parseHostPort(req.address, 'address');
      const info = infoFromProto(checkBackendInfo(req.info));
      if (!info) throw new ValidationError('info', 'missing or incomplete', 'the backend info of the worker (backend, steps >= 2, max_batch >= 1)');
      const { accepted, reason } = coord.registerWorker(new GrpcWorkerClient(req.worker, address), info, { draining: req.draining, remote: true });
      return { heartbeat_ms: HEARTBEAT_MS, accepted, reason };
    }),
  };
}

/** Starts the Coordinator service and grpc.health.v1 on HOST:PORT (port 0 = any). */
export async function startCoordinatorServer(coord: Coordinator, address: string, metrics: MetricsSink = NO_METRICS): Promise<ServingServer> {
  return serve(coordinatorProto().ttsnap.v1.Coordinator.service, coordinatorHandlers(coord, metrics), 'ttsnap.v1.Coordinator', MAX_COORDINATOR_MESSAGE, address);
}
