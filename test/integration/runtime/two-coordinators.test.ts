import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorGrpcClient } from '../../../coordinator/client.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import type { Proc } from '../../support/procs.js';
import { TestCluster } from './cluster.js';

// README's way past one coordinator: several over one NATS, each with a --nats-prefix of its own (its scores,
// journal and result bucket). Two coordinators, each with its workers, on one nats-server: a kill -9 and restart
// of one resumes its own running job only (a starting coordinator resumes every unfinished job of its journal), the
// other's job runs on untouched, and each lists its own jobs.
const PROMPTS = Array.from({ length: 10 }, (_, i) => i);
const N = 32;

describe('two coordinators over one NATS, a prefix each', () => {
  const a = new TestCluster();
  const b = new TestCluster();
  let coordinatorB: Proc;
  beforeAll(async () => {
    await a.startAll(['a1', 'a2'], 15, 4);
    b.natsUrl = a.natsUrl;
    coordinatorB = await b.startCoordinator();
    await Promise.all(['b1', 'b2'].map((id) => b.startWorker(id, 15, 4)));
    await b.waitForWorkers(2);
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it("a restarted coordinator resumes its own job, not the other's; each job finishes once, on its own workers", async () => {
    expect(a.prefix).not.toBe(b.prefix);
    const clientA = new CoordinatorGrpcClient(a.coordinatorAddr);
    const request = { prompts: PROMPTS, candidates: N, schedule: [...PAPER_SCHEDULE], seed: 5 };
    const jobA = (await clientA.submit({ ...request, label: 'a' })).job;
    let clientB = new CoordinatorGrpcClient(b.coordinatorAddr);
    const jobB = (await clientB.submit({ ...request, label: 'b' })).job;
    clientB.close();
    await b.waitForPromptsDone(2);
    coordinatorB.child.kill('SIGKILL');
    await coordinatorB.exited;
    coordinatorB = await b.startCoordinator([], b.coordinatorAddr);
    expect(coordinatorB.stderr).toMatch(new RegExp(`resuming 1 running job\\(s\\) from the journal: ${jobB}\\b`));
    expect(coordinatorB.stderr).not.toContain(jobA);

    clientB = new CoordinatorGrpcClient(b.coordinatorAddr);
    const [endA, endB] = await Promise.all([clientA.watch(jobA, () => {}), clientB.watch(jobB, () => {})]);
    expect([endA.done?.state, endB.done?.state]).toEqual(['done', 'done']);
    expect([endA.done?.prompts, endB.done?.prompts]).toEqual([PROMPTS.length, PROMPTS.length]);
    // each coordinator lists its own job only (its result bucket is its prefix's)
    expect((await clientA.list(10)).map((j) => j.job)).toEqual([jobA]);
    expect((await clientB.list(10)).map((j) => j.job)).toEqual([jobB]);
    // the work ran on each coordinator's own workers (the busy time the result reports, by worker)
    expect(Object.keys(endA.done?.result?.timeline?.worker_busy_s ?? {}).sort()).toEqual(['a1', 'a2']);
    expect(Object.keys(endB.done?.result?.timeline?.worker_busy_s ?? {}).sort()).toEqual(['b1', 'b2']);
    clientA.close();
    clientB.close();
  }, 120_000);
});
