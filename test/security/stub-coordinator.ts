import type * as grpc from '@grpc/grpc-js';
import type { CoordinatorClient } from '../../core/generated/ttsnap/v1/Coordinator.js';
import { channelOptions, coordinatorProto, MAX_COORDINATOR_MESSAGE } from '../../core/grpc/load.js';
import { serve, type ServingServer } from '../../core/grpc/serve.js';
import { callerOf } from '../../core/security/authorizer.js';
import type { SecurityContext } from '../../core/security/context.js';

/**
 * A Coordinator service whose handlers answer at once and record the caller the interceptor established:
 * enough to test transport security and the role table without a cluster.
 */
export async function serveStub(security: SecurityContext, callers: string[] = []): Promise<ServingServer> {
  const record = (md: grpc.Metadata): void => {
    const c = callerOf(md);
    callers.push(`${c.role}/${c.name}`);
  };
  const handlers = {
    SubmitJob: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => (record(call.metadata), cb(null, { job: 'j-1', candidates_per_prompt: 1 })),
    WatchJob: (call: grpc.ServerWritableStream<unknown, unknown>) => (record(call.metadata), call.end()),
    GetResult: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => (record(call.metadata), cb(null, {})),
    CancelJob: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => (record(call.metadata), cb(null, { state: 'cancelled' })),
    ListJobs: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => (record(call.metadata), cb(null, { jobs: [] })),
    RegisterWorker: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => (record(call.metadata), cb(null, { heartbeat_ms: 500, accepted: true })),
  };
  return serve(coordinatorProto().ttsnap.v1.Coordinator.service, handlers, 'ttsnap.v1.Coordinator', MAX_COORDINATOR_MESSAGE, '127.0.0.1:0', { security });
}

export function stubClient(port: number, security: SecurityContext): CoordinatorClient {
  const Ctor = coordinatorProto().ttsnap.v1.Coordinator;
  return new Ctor(`127.0.0.1:${port}`, security.channelCredentials(), channelOptions(MAX_COORDINATOR_MESSAGE));
}

/** One unary call; resolves with the error (null on success). */
export function callOnce(client: CoordinatorClient, method: 'ListJobs' | 'CancelJob' | 'RegisterWorker' | 'SubmitJob', req: object): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    const fn = client[method].bind(client) as (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void;
    fn(req, { deadline: Date.now() + 10_000 }, (err) => resolve(err));
  });
}
