// Candidates travel to workers grouped by prompt (packed indices; a Take's text once per prompt) once the worker
// has said on its Batch stream that it reads them so; to a worker that never says it, as before. Both forms
// decode to the same candidates, under the same bounds.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { groupRefs, promptGroups, takePrompts } from '../../../core/contract/candidate-groups.js';
import type { TakeSpec } from '../../../core/contract/candidates.js';
import type { WorkerBatchRequest__Output } from '../../../core/generated/ttsnap/v1/WorkerBatchRequest.js';
import type { WorkerBatchResponse } from '../../../core/generated/ttsnap/v1/WorkerBatchResponse.js';
import { workerProto } from '../../../core/grpc/load.js';
import { checkRefs, checkTakeCandidates } from '../../../core/security/requests.js';
import { GrpcWorkerClient } from '../../../coordinator/grpc-worker-client.js';

const rewards = [{ name: 'pic', noiseAware: false }];
const guided = { guidance: 5, steps: 30, negative_prompt: 'blur', width: 0, height: 0 };

describe('grouping candidates by prompt', () => {
  it('makes one group of each run of refs of one prompt, in order', () => {
    const refs = [{ prompt: 5, candidate: 0 }, { prompt: 5, candidate: 3 }, { prompt: 6, candidate: 2 }, { prompt: 5, candidate: 1 }];
    expect(promptGroups(refs)).toEqual([
      { prompt: 5, candidates: [0, 3] },
      { prompt: 6, candidates: [2] },
      { prompt: 5, candidates: [1] },
    ]);
    expect(promptGroups([])).toEqual([]);
    expect(checkRefs([], promptGroups(refs))).toEqual(refs);
    expect(groupRefs(promptGroups(refs))).toEqual(refs);
    expect(groupRefs([])).toEqual([]);
  });

  it('sends a Take prompt text and settings once per run, splitting where either changes', () => {
    const specs: TakeSpec[] = [
      { prompt: 1, candidate: 0, seed: 10, text: 'a cat' },
      { prompt: 1, candidate: 1, seed: 11, text: 'a cat' },
      { prompt: 2, candidate: 0, seed: 12, text: 'a dog', sampling: guided },
      { prompt: 2, candidate: 1, seed: 13, text: 'a dog', sampling: { ...guided } },
      { prompt: 2, candidate: 2, seed: 14, text: 'a dog', sampling: { ...guided, guidance: 7 } },
    ];
    expect(takePrompts(specs)).toEqual([
      { prompt: 1, text: 'a cat', sampling: null, candidates: [0, 1], seeds: [10, 11] },
      { prompt: 2, text: 'a dog', sampling: guided, candidates: [0, 1], seeds: [12, 13] },
      { prompt: 2, text: 'a dog', sampling: { ...guided, guidance: 7 }, candidates: [2], seeds: [14] },
    ]);
    expect(checkTakeCandidates([], takePrompts(specs))).toEqual(specs);
  });

  it('takes ungrouped candidates first, then grouped ones, and bounds them together', () => {
    const one = { prompt: 9, candidate: 4, seed: 1, text: 'x', sampling: null };
    expect(checkTakeCandidates([one], [{ prompt: 3, text: 'y', sampling: null, candidates: [7], seeds: [2] }])).toEqual([
      { prompt: 9, candidate: 4, seed: 1, text: 'x' },
      { prompt: 3, candidate: 7, seed: 2, text: 'y' },
    ]);
    const many = Array.from({ length: 4096 }, (_, i) => i);
    expect(() => checkRefs([{ prompt: 0, candidate: 0 }], [{ prompt: 1, candidates: many }])).toThrow('candidates + groups[].candidates: 4097 entries; allowed: at most 4096');
    expect(() => checkTakeCandidates([], [{ prompt: 1, text: '', sampling: null, candidates: [1, 2], seeds: [1] }])).toThrow('prompts[0].seeds: 1 seeds for 2 candidates; allowed: one seed per candidate, in the order of candidates');
  });
});

describe('the worker client groups candidates only for workers that read them', () => {
  let server: grpc.Server | undefined;
  let client: GrpcWorkerClient | undefined;
  afterEach(() => {
    client?.close();
    server?.forceShutdown();
    server = client = undefined;
  });

  /** A Worker service with only Batch: records each request and answers it at once, all ops done. */
  async function fakeWorker(saysGrouped: boolean): Promise<WorkerBatchRequest__Output[]> {
    const seen: WorkerBatchRequest__Output[] = [];
    const s = new grpc.Server();
    s.addService(workerProto().ttsnap.v1.Worker.service, {
      Batch: (call: grpc.ServerDuplexStream<WorkerBatchRequest__Output, WorkerBatchResponse>) => {
        if (saysGrouped) call.write({ id: 0, outcomes: [], grouped: true });
        call.on('data', (req: WorkerBatchRequest__Output) => {
          seen.push(req);
          call.write({ id: req.id, outcomes: req.ops.map(() => ({ code: 0, error: '', details: '' })) });
        });
        call.on('end', () => call.end());
      },
    });
    const port = await new Promise<number>((resolve, reject) => s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    server = s;
    client = new GrpcWorkerClient('w1', `127.0.0.1:${port}`);
    return seen;
  }

  /** A take, an advance and a release of prompt 5's candidates 0 and 1, in one turn. */
  async function oneTurn(c: GrpcWorkerClient): Promise<void> {
    const specs = [0, 1].map((candidate) => ({ prompt: 5, candidate, seed: 20 + candidate, text: 'a fox' }));
    const refs = specs.map(({ prompt, candidate }) => ({ prompt, candidate }));
    await Promise.all([c.take('j1', takePrompts(specs)), c.advance('j1', 3, promptGroups(refs), rewards), c.release('j1', promptGroups(refs))]);
  }

  const ungrouped = {
    take: { job: 'j1', candidates: [0, 1].map((candidate) => ({ prompt: 5, candidate, seed: 20 + candidate, text: 'a fox', sampling: null })), prompts: [] },
    advance: { job: 'j1', to_step: 3, candidates: [{ prompt: 5, candidate: 0 }, { prompt: 5, candidate: 1 }], groups: [], rewards: [{ name: 'pic', noise_aware: false }], previews: false },
    release: { job: 'j1', candidates: [{ prompt: 5, candidate: 0 }, { prompt: 5, candidate: 1 }], groups: [] },
  };
  const grouped = {
    take: { job: 'j1', candidates: [], prompts: [{ prompt: 5, text: 'a fox', sampling: null, candidates: [0, 1], seeds: [20, 21] }] },
    advance: { job: 'j1', to_step: 3, candidates: [], groups: [{ prompt: 5, candidates: [0, 1] }], rewards: [{ name: 'pic', noise_aware: false }], previews: false },
    release: { job: 'j1', candidates: [], groups: [{ prompt: 5, candidates: [0, 1] }] },
  };
  const ops = (req: WorkerBatchRequest__Output | undefined): unknown[] => (req?.ops ?? []).map((op) => op.take ?? op.advance ?? op.release);

  // the first request goes out as the stream opens, before the worker could say anything
  it.each([
    ['an older worker (it never says so) gets every candidate ungrouped', false, ungrouped],
    ['a worker that says so as its stream opens gets them grouped from then on', true, grouped],
  ])('%s', async (_, says, second) => {
    const seen = await fakeWorker(says);
    await oneTurn(client as GrpcWorkerClient);
    await oneTurn(client as GrpcWorkerClient);
    expect(seen.map(ops)).toEqual([
      [ungrouped.take, ungrouped.advance, ungrouped.release],
      [second.take, second.advance, second.release],
    ]);
  });

  it("releases of one job in a row share one op; one after another op, another job's, or of the whole job does not join", async () => {
    const seen = await fakeWorker(true);
    const c = client as GrpcWorkerClient;
    await c.release('j1', [{ prompt: 0, candidates: [1] }]); // the stream opens: from now on grouped
    const g = (prompt: number, ...candidates: number[]): { prompt: number; candidates: number[] } => ({ prompt, candidates });
    const calls = [
      c.release('j1', [g(5, 0, 1)]),
      c.release('j1', [g(6, 2)]),
      c.release('j2', [g(5, 3)]),
      c.advance('j2', 3, [g(5, 4)], rewards),
      c.release('j2', [g(7, 5)]),
      c.release('j2'),
      c.release('j2', [g(8, 6)]),
    ];
    expect(calls[1]).toBe(calls[0]);
    await Promise.all(calls);
    expect(ops(seen[1])).toEqual([
      { job: 'j1', candidates: [], groups: [g(5, 0, 1), g(6, 2)] },
      { job: 'j2', candidates: [], groups: [g(5, 3)] },
      { job: 'j2', to_step: 3, candidates: [], groups: [g(5, 4)], rewards: [{ name: 'pic', noise_aware: false }], previews: false },
      { job: 'j2', candidates: [], groups: [g(7, 5)] },
      { job: 'j2', candidates: [], groups: [] },
      { job: 'j2', candidates: [], groups: [g(8, 6)] },
    ]);
  });

  it('a worker without Batch (it answers UNIMPLEMENTED) gets the ops it missed one call each, ungrouped, each settled by its own answer', async () => {
    const seen: [string, unknown][] = [];
    const s = new grpc.Server();
    const unary = (name: string, fail = false) => (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      seen.push([name, call.request]);
      if (fail) cb({ code: grpc.status.NOT_FOUND, details: 'no candidate 5/1' });
      else cb(null, name === 'Advance' ? { step: 3 } : {});
    };
    // the service definition with Take, Advance and Release only: grpc-js answers UNIMPLEMENTED to the rest
    s.addService(workerProto().ttsnap.v1.Worker.service, { Take: unary('Take'), Advance: unary('Advance', true), Release: unary('Release') });
    const port = await new Promise<number>((resolve, reject) => s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    server = s;
    client = new GrpcWorkerClient('w1', `127.0.0.1:${port}`);
    const specs = [0, 1].map((candidate) => ({ prompt: 5, candidate, seed: 20 + candidate, text: 'a fox' }));
    const refs = specs.map(({ prompt, candidate }) => ({ prompt, candidate }));
    const outcomes = await Promise.allSettled([client.take('j1', takePrompts(specs)), client.advance('j1', 3, promptGroups(refs), rewards), client.release('j1', promptGroups(refs))]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toContain('no candidate 5/1');
    expect(seen.map(([name]) => name).sort()).toEqual(['Advance', 'Release', 'Take']);
    expect(Object.fromEntries(seen.map(([name, req]) => [name, req]))).toEqual({ Take: ungrouped.take, Advance: ungrouped.advance, Release: ungrouped.release });
    // later calls go one by one from the start, without trying Batch again
    await client.release('j1', promptGroups(refs));
    expect(seen.map(([name]) => name).filter((n) => n === 'Release')).toHaveLength(2);
  });
});
