import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIN_WORKER_PROTOCOL, PROTOCOL_VERSION } from '../../../core/contract/protocol.js';
import { coordinatorProto } from '../../../core/grpc/load.js';
import type { RegisterWorkerResponse__Output } from '../../../core/generated/ttsnap/v1/RegisterWorkerResponse.js';
import { TestCluster } from './cluster.js';

// The gRPC contract carries a schema version: the coordinator refuses a worker of another protocol with
// FAILED_PRECONDITION and a reason naming both versions (the worker then stops, as on any refusal).
describe('protocol schema version of RegisterWorker', () => {
  const cluster = new TestCluster();
  beforeAll(async () => {
    await cluster.startNats();
    await cluster.startCoordinator();
  });
  afterAll(() => cluster.close());

  function register(protocol: number): Promise<{ err: grpc.ServiceError | null; res?: RegisterWorkerResponse__Output }> {
    const Ctor = coordinatorProto().ttsnap.v1.Coordinator;
    const stub = new Ctor(cluster.coordinatorAddr, grpc.credentials.createInsecure());
    const info = { backend: 'trace', steps: 20, max_batch: 4, rewards: ['pic'], trace_prompts: 10, trace_candidates: 10, model: 'x' };
    return new Promise((resolve) => {
      stub.RegisterWorker({ worker: `p${protocol}`, address: '127.0.0.1:1', info, protocol }, { deadline: Date.now() + 5000 }, (err, res) => {
        stub.close();
        resolve({ err, ...(res ? { res } : {}) });
      });
    });
  }

  it('refuses an older or newer worker, naming both versions; accepts its own and says its epoch', async () => {
    // protocol 2 workers (scores as JSON) still work with this coordinator
    expect(MIN_WORKER_PROTOCOL).toBe(2);
    const range = `2 to ${PROTOCOL_VERSION}`;
    const old = await register(0);
    expect(old.err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(old.err?.details).toBe(`worker protocol 1 (it sends no version) is incompatible with this coordinator's protocol ${PROTOCOL_VERSION} (it accepts workers of protocol ${range}): upgrade the worker`);
    const newer = await register(PROTOCOL_VERSION + 1);
    expect(newer.err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(newer.err?.details).toBe(`worker protocol ${PROTOCOL_VERSION + 1} is incompatible with this coordinator's protocol ${PROTOCOL_VERSION} (it accepts workers of protocol ${range}): upgrade the coordinator first (README: upgrade order)`);
    const older = await register(MIN_WORKER_PROTOCOL);
    expect(older.err).toBeNull();
    const same = await register(PROTOCOL_VERSION);
    expect(same.err).toBeNull();
    expect(same.res).toMatchObject({ accepted: true, protocol: PROTOCOL_VERSION });
    expect(same.res?.epoch).toMatch(/^[0-9a-f-]{36}$/);
  }, 60_000);
});
