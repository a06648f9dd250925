// A worker skips its heartbeat while it answers on its Batch stream (the coordinator counts each answer as one),
// sends it as a keepalive on that stream while the stream is open and nothing else was answered, heartbeats again
// once the stream is gone, tells a change of draining at once, and reports its busy seconds.
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegisterWorkerRequest__Output } from '../../../core/generated/ttsnap/v1/RegisterWorkerRequest.js';
import type { WorkerBatchRequest } from '../../../core/generated/ttsnap/v1/WorkerBatchRequest.js';
import type { WorkerBatchResponse__Output } from '../../../core/generated/ttsnap/v1/WorkerBatchResponse.js';
import { channelOptions, coordinatorProto, MAX_COORDINATOR_MESSAGE, MAX_WORKER_MESSAGE, workerProto } from '../../../core/grpc/load.js';
import { serve, stopServing, type ServingServer } from '../../../core/grpc/serve.js';
import { NO_LOG } from '../../../core/log/logger.js';
import { writeNpy } from '../../../core/trace/npy.js';
import { syntheticTrace } from '../../../core/trace/synthetic.js';
import { KEEPALIVES_IN_ROW, WorkerProcess } from '../../../process/worker-process.js';
import { startNats, waitFor, type Proc } from '../../support/procs.js';

/** the heartbeat interval the stub coordinator asks for */
const HEARTBEAT_MS = 200;

interface Beat {
  readonly at: number;
  readonly draining: boolean;
  readonly busy: number;
  readonly address: string;
}

describe('worker heartbeats', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ttsnap-heartbeats-'));
  const beats: Beat[] = [];
  let nats: Proc;
  let stub: ServingServer;
  let worker: WorkerProcess;
  let stream: grpc.ClientDuplexStream<WorkerBatchRequest, WorkerBatchResponse__Output>;
  const answers: { id: number; busy: number; at: number }[] = [];

  beforeAll(async () => {
    const started = await startNats(dir);
    nats = started.proc;
    // a coordinator that only records heartbeats: what the worker sends, and when
    const handlers = {
      RegisterWorker: (call: grpc.ServerUnaryCall<RegisterWorkerRequest__Output, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        beats.push({ at: Date.now(), draining: call.request.draining, busy: Number(call.request.busy_s), address: call.request.address });
        cb(null, { heartbeat_ms: HEARTBEAT_MS, accepted: true, epoch: 'e1', protocol: 0 });
      },
    };
    stub = await serve(coordinatorProto().ttsnap.v1.Coordinator.service, handlers, 'ttsnap.v1.Coordinator', MAX_COORDINATOR_MESSAGE, '127.0.0.1:0');
    const trace = syntheticTrace({ prompts: 2, candidates: 4, steps: 20, seed: 1 });
    const [base, narf] = [join(dir, 'base.npy'), join(dir, 'narf.npy')];
    writeNpy(base, { shape: [2, 4, 20], data: trace.base });
    writeNpy(narf, { shape: [2, 4, 20], data: trace.narf });
    worker = await WorkerProcess.start({ backend: 'trace', backendOptions: { base, narf }, listen: '127.0.0.1:0', coordinator: `127.0.0.1:${stub.port}`, natsUrl: started.url, natsPrefix: `hb${process.pid}`, id: 'w1', drainMs: 0, log: NO_LOG });
    await waitFor('heartbeats at the stub coordinator', async () => (beats.length >= 2 ? true : undefined), 10_000, 50);
    const Ctor = workerProto().ttsnap.v1.Worker;
    const client = new Ctor((beats[0] as Beat).address, grpc.credentials.createInsecure(), channelOptions(MAX_WORKER_MESSAGE));
    stream = client.Batch();
    stream.on('data', (res: WorkerBatchResponse__Output) => answers.push({ id: res.id, busy: res.busy_s, at: Date.now() }));
  }, 30_000);

  afterAll(async () => {
    stream?.end();
    await worker?.close();
    if (stub) await stopServing(stub, 500);
    await nats?.stop(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('skips heartbeats while answering the Batch stream, and sends them on it as keepalives once it stops', async () => {
    // a request every 50 ms, answered at once (answer_failures off): the worker answers all the time
    let id = 0;
    const send = setInterval(() => stream.write({ id: ++id, ops: [{ release: { job: 'j1', candidates: [] } }], answer_failures: false }), 50);
    await new Promise((r) => setTimeout(r, 300)); // the first answers are out
    const from = Date.now();
    await new Promise((r) => setTimeout(r, 2000));
    const during = beats.filter((b) => b.at >= from).length;
    clearInterval(send);
    expect(answers.length).toBeGreaterThanOrEqual(30);
    // 2 s at 200 ms would be 10 heartbeats; at most the one that was due when the answers began may slip in
    expect(during).toBeLessThanOrEqual(1);

    const quietFrom = Date.now();
    await new Promise((r) => setTimeout(r, 1500));
    // no requests for 1.5 s, the stream still open: a keepalive on it each 200 ms once an interval without
    // answers has passed (id 0, with the busy seconds), and still no heartbeat call
    const keepalives = answers.filter((a) => a.at >= quietFrom && a.id === 0);
    expect(keepalives.length).toBeGreaterThanOrEqual(4);
    expect(keepalives.every((a) => a.busy >= 0 && Number.isFinite(a.busy))).toBe(true);
    expect(beats.filter((b) => b.at >= quietFrom)).toEqual([]);
    // after KEEPALIVES_IN_ROW of them, a call all the same (a stream may outlive its coordinator unnoticed)
    await waitFor('a heartbeat call after the keepalives in a row', async () => beats.find((b) => b.at >= quietFrom), (KEEPALIVES_IN_ROW + 3) * HEARTBEAT_MS, 20);
    const inRow = answers.filter((a) => a.id === 0 && a.at >= quietFrom && a.at < (beats.find((b) => b.at >= quietFrom) as Beat).at);
    expect(inRow.length).toBeLessThanOrEqual(KEEPALIVES_IN_ROW);
  }, 20_000);

  it('tells the coordinator of a drain at once, even while answering', async () => {
    let id = 1000;
    const send = setInterval(() => stream.write({ id: ++id, ops: [{ release: { job: 'j1', candidates: [] } }], answer_failures: false }), 50);
    await new Promise((r) => setTimeout(r, 600));
    const before = beats.length;
    const t0 = Date.now();
    await worker.drain();
    clearInterval(send);
    const drained = await waitFor('a heartbeat saying draining', async () => beats.slice(before).find((b) => b.draining), 5000, 10);
    expect(drained.at - t0).toBeLessThan(HEARTBEAT_MS);
  }, 20_000);

  it('heartbeats again once the Batch stream is gone (a coordinator that restarted has no stream to it)', async () => {
    stream.end();
    await new Promise((r) => setTimeout(r, 300)); // the stream closes at the worker
    const from = Date.now();
    await new Promise((r) => setTimeout(r, 1500));
    const after = beats.filter((b) => b.at >= from);
    // one each 200 ms; draining since the test before
    expect(after.length).toBeGreaterThanOrEqual(4);
    expect(after.every((b) => b.draining && b.busy >= 0 && Number.isFinite(b.busy))).toBe(true);
  }, 20_000);
});
