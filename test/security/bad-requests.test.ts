import { existsSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE } from '../../core/engine/schedule.js';
import type { SubmitJobRequest } from '../../core/generated/ttsnap/v1/SubmitJobRequest.js';
import type { RegisterWorkerRequest } from '../../core/generated/ttsnap/v1/RegisterWorkerRequest.js';
import { PROTOCOL_VERSION } from '../../core/contract/protocol.js';
import { channelOptions, coordinatorProto, MAX_COORDINATOR_MESSAGE, MAX_WORKER_MESSAGE, workerProto } from '../../core/grpc/load.js';
import { CoordinatorGrpcClient } from '../../coordinator/client.js';
import { resultJson } from '../../coordinator/result.js';
import { BASE, engineAlone } from '../integration/runtime/engine-alone.js';
import { TestCluster } from '../integration/runtime/cluster.js';
import { enginePicks, picks, type SearchDoc } from '../integration/runtime/search-cli.js';
import { CLUSTER_TEST_MS } from './pki.js';

const traces = existsSync(BASE);
if (!traces) process.stderr.write(`skipping the bad-request tests: no ${BASE} (put the reward traces in ../shared/traces)\n`);

const GOOD: SubmitJobRequest = { prompts: [0, 1, 2, 3, 4, 5], candidates: 40, schedule: [...PAPER_SCHEDULE], seed: 3 };
const INFO = { backend: 'trace', steps: 20, max_batch: 4, rewards: ['pic'], cost: { denoise: 1, verify: 1 }, trace_prompts: 100, trace_candidates: 200, renders: false, model: 'm' };
const REG: RegisterWorkerRequest = { worker: 'rogue-1', address: '127.0.0.1:1', info: INFO, protocol: PROTOCOL_VERSION };

type Bad = readonly [service: 'Coordinator' | 'Worker', method: string, request: object, field: string];

/** One bad field each: SubmitJob, RegisterWorker and every method of the Worker service. */
const BAD: readonly Bad[] = [
  ['Coordinator', 'SubmitJob', { ...GOOD, prompts: [] }, 'prompts'],
  ['Coordinator', 'SubmitJob', { ...GOOD, prompts: [0, 100] }, 'prompts[1]'],
  ['Coordinator', 'SubmitJob', { ...GOOD, prompts: [3, 3] }, 'prompts[1]'],
  ['Coordinator', 'SubmitJob', { ...GOOD, prompts: Array.from({ length: 100_001 }, (_, i) => i % 100) }, 'prompts'],
  ['Coordinator', 'SubmitJob', { ...GOOD, texts: ['a cat'] }, 'texts'],
  ['Coordinator', 'SubmitJob', { ...GOOD, prompts: [], texts: ['a cat'] }, 'texts'],
  ['Coordinator', 'SubmitJob', { ...GOOD, candidates: 0, budget: -5 }, 'budget'],
  ['Coordinator', 'SubmitJob', { ...GOOD, candidates: 0, budget: 1 }, 'budget'],
  ['Coordinator', 'SubmitJob', { ...GOOD, candidates: 0, budget: 0 }, 'budget'],
  ['Coordinator', 'SubmitJob', { ...GOOD, budget: 500 }, 'candidates'],
  ['Coordinator', 'SubmitJob', { ...GOOD, candidates: 1_000_000 }, 'candidates'],
  ['Coordinator', 'SubmitJob', { ...GOOD, schedule: [{ step: 19, alpha: 0.5 }] }, 'schedule[0].step'],
  ['Coordinator', 'SubmitJob', { ...GOOD, schedule: [{ step: 2, alpha: 0.4 }, { step: 6, alpha: 1.5 }] }, 'schedule[1].alpha'],
  ['Coordinator', 'SubmitJob', { ...GOOD, schedule: [{ step: 2, alpha: 0 }] }, 'schedule[0].alpha'],
  ['Coordinator', 'SubmitJob', { ...GOOD, schedule: Array.from({ length: 65 }, (_, i) => ({ step: i, alpha: 0.9 })) }, 'schedule'],
  ['Coordinator', 'SubmitJob', { ...GOOD, policy: 'greedy' }, 'policy'],
  ['Coordinator', 'SubmitJob', { ...GOOD, rewards: ['hps'] }, 'rewards[0]'],
  ['Coordinator', 'SubmitJob', { ...GOOD, rewards: ['pic.x'] }, 'rewards[0]'],
  ['Coordinator', 'SubmitJob', { ...GOOD, rewards: ['*'] }, 'rewards[0]'],
  ['Coordinator', 'SubmitJob', { ...GOOD, rewards: ['pic', 'pic'] }, 'rewards[1]'],
  ['Coordinator', 'SubmitJob', { ...GOOD, rewards: Array.from({ length: 9 }, () => 'pic') }, 'rewards'],
  ['Coordinator', 'SubmitJob', { ...GOOD, top_k: 41 }, 'top_k'],
  ['Coordinator', 'SubmitJob', { ...GOOD, cost: { denoise: -1, verify: 1 } }, 'cost.denoise'],
  ['Coordinator', 'SubmitJob', { ...GOOD, accounting: 'generous' }, 'accounting'],
  ['Coordinator', 'SubmitJob', { ...GOOD, label: 'x'.repeat(5000) }, 'label'],
  ['Coordinator', 'WatchJob', { job: '' }, 'job'],
  ['Coordinator', 'WatchJobBatches', { job: 'x'.repeat(65) }, 'job'],
  ['Coordinator', 'GetResult', { job: 'x'.repeat(65) }, 'job'],
  ['Coordinator', 'CancelJob', { job: '' }, 'job'],
  ['Coordinator', 'RegisterWorker', { ...REG, worker: '' }, 'worker'],
  ['Coordinator', 'RegisterWorker', { ...REG, worker: 'a b' }, 'worker'],
  ['Coordinator', 'RegisterWorker', { ...REG, worker: 'w'.repeat(129) }, 'worker'],
  ['Coordinator', 'RegisterWorker', { ...REG, address: 'nohost' }, 'address'],
  ['Coordinator', 'RegisterWorker', { ...REG, address: '127.0.0.1:70000' }, 'address'],
  ['Coordinator', 'RegisterWorker', { ...REG, info: null }, 'info'],
  ['Coordinator', 'RegisterWorker', { ...REG, info: { ...INFO, backend: '' } }, 'info.backend'],
  ['Coordinator', 'RegisterWorker', { ...REG, info: { ...INFO, steps: 1 } }, 'info.steps'],
  ['Coordinator', 'RegisterWorker', { ...REG, info: { ...INFO, max_batch: 0 } }, 'info.max_batch'],
  ['Coordinator', 'RegisterWorker', { ...REG, info: { ...INFO, max_batch: 100_000 } }, 'info.max_batch'],
  ['Coordinator', 'RegisterWorker', { ...REG, info: { ...INFO, rewards: [] } }, 'info.rewards'],
  ['Coordinator', 'RegisterWorker', { ...REG, info: { ...INFO, rewards: ['pic.*'] } }, 'info.rewards[0]'],
  ['Coordinator', 'RegisterWorker', { ...REG, info: { ...INFO, rewards: ['pic', '>'] } }, 'info.rewards[1]'],
  ['Coordinator', 'RegisterWorker', { ...REG, info: { ...INFO, cost: { denoise: -1, verify: 1 } } }, 'info.cost.denoise'],
  ['Coordinator', 'RegisterWorker', { ...REG, info: { ...INFO, trace_candidates: 0 } }, 'info.trace_candidates'],
  ['Coordinator', 'RegisterWorker', { ...REG, info: { ...INFO, model: 'm'.repeat(300) } }, 'info.model'],
  ['Worker', 'Take', { job: '', candidates: [] }, 'job'],
  ['Worker', 'Take', { job: 'a.b', candidates: [] }, 'job'],
  ['Worker', 'Take', { job: 'j', candidates: Array.from({ length: 5000 }, (_, i) => ({ prompt: 0, candidate: i, seed: i })) }, 'candidates'],
  ['Worker', 'Take', { job: 'j', candidates: [{ prompt: 0, candidate: 0, seed: 0, text: 'x'.repeat(3000) }] }, 'candidates[0].text'],
  ['Worker', 'Take', { job: 'j', prompts: [{ prompt: 0, text: 'x', candidates: [0, 1], seeds: [7] }] }, 'prompts[0].seeds'],
  ['Worker', 'Take', { job: 'j', prompts: [{ prompt: 0, text: 'x'.repeat(3000), candidates: [0], seeds: [7] }] }, 'prompts[0].text'],
  ['Worker', 'Take', { job: 'j', candidates: [{ prompt: 0, candidate: 0, seed: 0 }], prompts: [{ prompt: 1, candidates: Array.from({ length: 4096 }, (_, i) => i), seeds: Array.from({ length: 4096 }, (_, i) => i) }] }, 'candidates + prompts[].candidates'],
  ['Worker', 'Advance', { job: 'j', to_step: 3, candidates: [], rewards: [] }, 'rewards'],
  ['Worker', 'Advance', { job: 'j', to_step: 3, candidates: [], rewards: [{ name: 'pic.x' }] }, 'rewards[0].name'],
  ['Worker', 'Advance', { job: 'j', to_step: 20_000, candidates: [], rewards: [{ name: 'pic' }] }, 'to_step'],
  ['Worker', 'Advance', { job: 'j>', to_step: 3, candidates: [], rewards: [{ name: 'pic' }] }, 'job'],
  ['Worker', 'Release', { job: 'x y', candidates: [] }, 'job'],
  ['Worker', 'Release', { job: 'j', candidates: Array.from({ length: 5000 }, () => ({ prompt: 0, candidate: 0 })) }, 'candidates'],
  ['Worker', 'Release', { job: 'j', groups: [{ prompt: 0, candidates: Array.from({ length: 5000 }, (_, i) => i) }] }, 'candidates + groups[].candidates'],
  ['Worker', 'Advance', { job: 'j', to_step: 3, rewards: [{ name: 'pic' }], groups: [{ prompt: 0, candidates: Array.from({ length: 5000 }, (_, i) => i) }] }, 'candidates + groups[].candidates'],
  ['Worker', 'ExportLatent', { job: 'j' }, 'candidate'],
  ['Worker', 'ImportLatent', { job: 'j', candidate: { prompt: 0, candidate: 0 }, state: Buffer.alloc(0) }, 'state'],
  ['Worker', 'ImportLatent', { job: 'j', state: Buffer.alloc(16) }, 'candidate'],
  ['Worker', 'Render', { job: 'j' }, 'candidate'],
  ['Worker', 'Render', { job: '*', candidate: { prompt: 0, candidate: 0 } }, 'job'],
];

/** One call by method name on a generated client (the method set differs per service, so look it up). */
function call(client: grpc.Client, method: string, request: object): Promise<grpc.ServiceError | null> {
  const fn: unknown = Reflect.get(client, method);
  if (typeof fn !== 'function') throw new Error(`no method ${method}`);
  return new Promise((resolve) => {
    if (method === 'WatchJob' || method === 'WatchJobBatches') {
      const stream = (fn as (r: object) => grpc.ClientReadableStream<unknown>).call(client, request);
      stream.on('data', () => {});
      stream.on('error', (e: grpc.ServiceError) => resolve(e));
      stream.on('end', () => resolve(null));
      return;
    }
    (fn as (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void).call(client, request, { deadline: Date.now() + 20_000 }, (e) => resolve(e));
  });
}

describe.skipIf(!traces)('bad gRPC requests to every service', { timeout: CLUSTER_TEST_MS }, () => {
  const cluster = new TestCluster();
  let client: CoordinatorGrpcClient;
  let coordinatorStub: grpc.Client;
  let workerStub: grpc.Client;
  beforeAll(async () => {
    // This test is about validation, not failure detection: a generous heartbeat timeout keeps a loaded machine
    // (CI shares its cores) from declaring a worker lost, which would add recomputation to the ledger compared.
    await cluster.startNats();
    await cluster.startCoordinator(['--worker-timeout-ms', '15000']);
    const workers = await Promise.all(['w1', 'w2'].map((id) => cluster.startWorker(id, 5, 4)));
    await cluster.waitForWorkers(2);
    client = new CoordinatorGrpcClient(cluster.coordinatorAddr);
    coordinatorStub = new (coordinatorProto().ttsnap.v1.Coordinator)(cluster.coordinatorAddr, grpc.credentials.createInsecure(), channelOptions(MAX_COORDINATOR_MESSAGE));
    // the worker's JSON log line `worker serving` names the address it listens on
    const workerAddr = /"listen":"(\S+?:\d+)".*"msg":"worker serving"/.exec((workers[0] ?? { stderr: '' }).stderr)?.[1] ?? '';
    expect(workerAddr, 'the worker names its address').not.toBe('');
    workerStub = new (workerProto().ttsnap.v1.Worker)(workerAddr, grpc.credentials.createInsecure(), channelOptions(MAX_WORKER_MESSAGE));
  });
  afterAll(async () => {
    client?.close();
    coordinatorStub?.close();
    workerStub?.close();
    await cluster.close();
  });

  it(`${BAD.length} bad requests each get INVALID_ARGUMENT naming the field, while a good job runs undisturbed`, async () => {
    expect(BAD.length).toBeGreaterThanOrEqual(40);
    const expected = engineAlone(GOOD.prompts as number[], 40, PAPER_SCHEDULE, 3);
    const { job } = await client.submit(GOOD);
    const lost: string[] = [];
    const running = client.watch(job, (e) => e.worker_lost && lost.push(e.worker_lost.worker));
    const answers = await Promise.all(BAD.map(([service, method, req]) => call(service === 'Coordinator' ? coordinatorStub : workerStub, method, req)));
    const wrong = BAD.flatMap(([service, method, , field], i) => {
      const err = answers[i];
      const ok = err?.code === grpc.status.INVALID_ARGUMENT && err.details.startsWith(`${field}: `) && / allowed: ./.test(err.details);
      return ok ? [] : [`${service}.${method} ${field}: ${err ? `${grpc.status[err.code]} ${err.details}` : 'accepted'}`];
    });
    expect(wrong).toEqual([]);
    const done = await running;
    expect([done.done?.state, done.done?.error]).toEqual(['done', '']);
    expect(lost).toEqual([]);
    const doc = resultJson(await client.result(job), 0) as unknown as SearchDoc;
    expect(picks(doc)).toEqual(enginePicks(expected));
  });
});
