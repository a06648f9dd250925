import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { CoordinatorGrpcClient, CoordinatorCallError } from '../../../coordinator/client.js';
import { ResultCollector, resultJson } from '../../../coordinator/result.js';
import { engineAlone } from './engine-alone.js';
import type { Proc } from '../../support/procs.js';
import { TestCluster } from './cluster.js';
import { enginePicks, engineTotal, picks, type SearchDoc } from './search-cli.js';
import * as grpc from '@grpc/grpc-js';

const PROMPTS = Array.from({ length: 10 }, (_, i) => 40 + i);
const N = 40;

describe('graceful shutdown: SIGTERM drains', () => {
  const cluster = new TestCluster();
  let coordinator: Proc;
  let workers: Proc[] = [];
  let client: CoordinatorGrpcClient;
  beforeAll(async () => {
    ({ coordinator, workers } = await cluster.startAll(['w1', 'w2', 'w3'], 8, 4));
    client = new CoordinatorGrpcClient(cluster.coordinatorAddr);
  });
  afterAll(async () => {
    client?.close();
    await cluster.close();
  });

  it('a worker given SIGTERM hands its survivors over (latent moves, no recomputation) and exits 0', async () => {
    const expected = engineAlone(PROMPTS, N, PAPER_SCHEDULE, 21);
    const { job } = await client.submit({ prompts: PROMPTS, candidates: N, schedule: [...PAPER_SCHEDULE], seed: 21 });
    const w3 = workers[2] as Proc;
    let signalled = false;
    const done = await client.watch(job, (e) => {
      if (e.event === 'budget' && !signalled && Number(e.budget?.prompts_done) >= 2) {
        signalled = true;
        w3.child.kill('SIGTERM');
      }
    });
    expect(done.done?.state).toBe('done');
    expect(await w3.exited).toBe(0);
    expect(w3.stderr).toMatch(/"candidatesLeft":0,"msg":"stopped"/);
    const doc = resultJson(await client.result(job), 0) as unknown as SearchDoc;
    expect(picks(doc)).toEqual(enginePicks(expected));
    expect(doc.ledger).toEqual(engineTotal(expected));
    expect(doc.movement.moves).toBeGreaterThan(0);
    expect(doc.movement.bytes).toBe(doc.movement.moves * 16); // a trace candidate's state is 16 bytes
    expect(doc.movement).toMatchObject({ recomputed_steps: 0, workers_lost: 0 });
  });

  it('the coordinator given SIGTERM refuses new jobs, finishes the running one and exits 0', async () => {
    const expected = engineAlone(PROMPTS.slice(0, 6), N, PAPER_SCHEDULE, 22);
    const { job } = await client.submit({ prompts: PROMPTS.slice(0, 6), candidates: N, schedule: [...PAPER_SCHEDULE], seed: 22 });
    const events: string[] = [];
    const collect = new ResultCollector();
    const finished = client.watch(job, (e) => {
      events.push(e.event ?? '');
      collect.onEvent(e);
    });
    await new Promise((r) => setTimeout(r, 200));
    coordinator.child.kill('SIGTERM');
    const until = Date.now() + 5000;
    while (!/draining/.test(coordinator.stderr) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const refused = await client.submit({ prompts: [0], candidates: 4, schedule: [...PAPER_SCHEDULE] }, 0).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CoordinatorCallError);
    expect((refused as CoordinatorCallError).code).toBe(grpc.status.UNAVAILABLE);
    const done = await finished;
    expect(done.done?.state).toBe('done');
    // the result travels with the events (prompt_done, then the done summary): the draining coordinator may be gone right after
    expect(collect.complete).toBe(true);
    expect(done.done?.result?.prompts).toEqual([]);
    const doc = resultJson(collect.result(), 0) as unknown as SearchDoc;
    expect(picks(doc)).toEqual(enginePicks(expected));
    expect(await coordinator.exited).toBe(0);
    expect(coordinator.stderr).toMatch(/"drained":true,"msg":"stopped: all jobs finished"/);

    // The result outlives the coordinator: a new one on the same NATS reads it from the JetStream bucket.
    await cluster.startCoordinator();
    const again = new CoordinatorGrpcClient(cluster.coordinatorAddr);
    try {
      const stored = resultJson(await again.result(job), 0) as unknown as SearchDoc;
      expect(picks(stored)).toEqual(enginePicks(expected));
      expect(stored.ledger).toEqual(engineTotal(expected));
    } finally {
      again.close();
    }
  });
});
