// Fair share across many jobs on real processes (bench:scale --fair-jobs measures it at 100 jobs): a huge job
// holds the workers, then many small jobs arrive from several clients; every one of them makes progress and
// ends, with the engine-alone winners, while the huge job is still running.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorGrpcClient } from '../../../coordinator/client.js';
import { ResultCollector } from '../../../coordinator/result.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { TestCluster } from './cluster.js';
import { engineAlone } from './engine-alone.js';

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
const SMALL_JOBS = 24;
const CLIENTS = 3;

describe('fair share between many jobs', () => {
  const cluster = new TestCluster();
  const clients: CoordinatorGrpcClient[] = [];
  beforeAll(async () => {
    await cluster.startAll(['w1', 'w2'], 4, 4);
    for (let i = 0; i < CLIENTS; i++) clients.push(new CoordinatorGrpcClient(cluster.coordinatorAddr));
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster.close();
  });

  it(`${SMALL_JOBS} small jobs from ${CLIENTS} clients submitted behind a huge one all end before it, with the engine-alone winners`, async () => {
    const [first] = clients as [CoordinatorGrpcClient];
    const huge = await first.submit({ prompts: range(0, 60), candidates: 16, schedule: [...PAPER_SCHEDULE], seed: 1 });
    let hugeDone = 0;
    const hugeEnded = first.watch(huge.job, (e) => void (e.prompt_done && hugeDone++)).then(() => Date.now());
    await new Promise((r) => setTimeout(r, 300)); // the huge job holds every worker by now
    const small = await Promise.all(
      range(0, SMALL_JOBS).map(async (i) => {
        const client = clients[i % CLIENTS] as CoordinatorGrpcClient;
        const prompts = [60 + (i % 30)];
        const { job } = await client.submit({ prompts, candidates: 16, schedule: [...PAPER_SCHEDULE], seed: 100 + i });
        const collect = new ResultCollector();
        await client.watch(job, (e) => void collect.onEvent(e));
        return { prompts, seed: 100 + i, endedAt: Date.now(), collect, hugeDoneThen: hugeDone };
      }),
    );
    const hugeEndedAt = await hugeEnded;
    for (const s of small) {
      expect(s.collect.summary?.state).toBe('done');
      expect(s.endedAt).toBeLessThan(hugeEndedAt);
      expect(s.collect.result().prompts?.map((p) => p.winner?.candidate)).toEqual(engineAlone(s.prompts, 16, PAPER_SCHEDULE, s.seed).map((e) => e.winner));
    }
    // the small jobs did not wait for the huge one's prompts: most of it was still to do when the last one ended
    expect(Math.max(...small.map((s) => s.hugeDoneThen))).toBeLessThan(45);
  }, 120_000);
});
