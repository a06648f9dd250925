import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { CoordinatorGrpcClient } from '../../../coordinator/client.js';
import { resultJson } from '../../../coordinator/result.js';
import { engineAlone } from './engine-alone.js';
import type { Proc } from '../../support/procs.js';
import { TestCluster } from './cluster.js';
import { enginePicks, engineTotal, picks, type SearchDoc } from './search-cli.js';

const PROMPTS = Array.from({ length: 12 }, (_, i) => 20 + i);
const N = 40;
const SEED = 9;

describe('failure: kill -9 one of 3 workers in the middle of a job', () => {
  const cluster = new TestCluster();
  let workers: Proc[] = [];
  let client: CoordinatorGrpcClient;
  beforeAll(async () => {
    ({ workers } = await cluster.startAll(['w1', 'w2', 'w3'], 10, 4));
    client = new CoordinatorGrpcClient(cluster.coordinatorAddr);
  });
  afterAll(async () => {
    client?.close();
    await cluster.close();
  });

  it('completes with the same winners; its candidates are recomputed elsewhere and the ledger shows the extra work', async () => {
    const expected = engineAlone(PROMPTS, N, PAPER_SCHEDULE, SEED);
    const { job } = await client.submit({ prompts: PROMPTS, candidates: N, schedule: [...PAPER_SCHEDULE], seed: SEED });
    const victim = workers[1] as Proc;
    let killedAt = -1;
    let lost = '';
    let unscored = -1;
    const done = await client.watch(job, (e) => {
      // Once a quarter of the prompts are done, every worker holds survivors of later stages.
      if (e.event === 'budget' && killedAt < 0 && Number(e.budget?.prompts_done) >= 3) {
        killedAt = Number(e.budget?.prompts_done);
        victim.child.kill('SIGKILL');
      }
      if (e.event === 'worker_lost') {
        lost = e.worker_lost?.worker ?? '';
        unscored = Number(e.worker_lost?.unscored_steps);
      }
    });
    expect(await victim.exited).toBe('SIGKILL');
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(PROMPTS.length);
    expect(done.done?.state).toBe('done');
    expect(lost).toBe('w2');
    const doc = resultJson(await client.result(job), 0) as unknown as SearchDoc;
    expect(picks(doc).map((p) => [p.prompt, p.winner, p.explored])).toEqual(enginePicks(expected).map((p) => [p.prompt, p.winner, p.explored]));
    const planned = engineTotal(expected);
    expect(doc.movement.workers_lost).toBe(1);
    expect(doc.movement.recomputed_steps).toBeGreaterThan(0);
    // the segments in flight on w2 when it died: at most what it ran that no ledger charges, as its event said
    expect(doc.movement.unscored_steps).toBe(unscored);
    expect(doc.ledger.denoise_steps).toBe(planned.denoise_steps + doc.movement.recomputed_steps);
    expect(doc.ledger.cost).toBeGreaterThan(planned.cost);
  });
});
