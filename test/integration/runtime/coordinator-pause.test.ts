import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { CoordinatorGrpcClient } from '../../../coordinator/client.js';
import { resultJson } from '../../../coordinator/result.js';
import type { Proc } from '../../support/procs.js';
import { TestCluster } from './cluster.js';
import { engineAlone } from './engine-alone.js';
import { enginePicks, engineTotal, picks, type SearchDoc } from './search-cli.js';

// The coordinator itself stopped (SIGSTOP) for longer than the worker timeout (1.5 s here), then continued: a
// long event-loop pause is not read as every worker lost at once. No worker is lost, nothing is recomputed, and
// the job completes with the engine-alone winners.
const PROMPTS = Array.from({ length: 10 }, (_, i) => 60 + i);
const N = 40;
const PAUSE_MS = 4000;

describe('coordinator paused (SIGSTOP) longer than the worker timeout', () => {
  const cluster = new TestCluster();
  let coordinator: Proc;
  beforeAll(async () => {
    ({ coordinator } = await cluster.startAll(['w1', 'w2'], 8, 4));
  });
  afterAll(() => cluster.close());

  it('loses no worker; the job completes with the same winners and the planned ledger', async () => {
    const expected = engineAlone(PROMPTS, N, PAPER_SCHEDULE, 31);
    const client = new CoordinatorGrpcClient(cluster.coordinatorAddr);
    const { job } = await client.submit({ prompts: PROMPTS, candidates: N, schedule: [...PAPER_SCHEDULE], seed: 31 });
    let paused = false;
    const done = await client.watch(job, (e) => {
      if (e.event === 'budget' && !paused && Number(e.budget?.prompts_done) >= 2) {
        paused = true;
        coordinator.child.kill('SIGSTOP');
        setTimeout(() => coordinator.child.kill('SIGCONT'), PAUSE_MS);
      }
    });
    expect(paused).toBe(true);
    expect(done.done?.state).toBe('done');
    const doc = resultJson(await client.result(job), 0) as unknown as SearchDoc;
    client.close();
    expect(doc.movement).toMatchObject({ workers_lost: 0, recomputed_steps: 0 });
    expect(picks(doc)).toEqual(enginePicks(expected));
    expect(doc.ledger).toEqual(engineTotal(expected));
    expect(coordinator.stderr).toMatch(/"pausedMs":\d{4,},"msg":"the coordinator was paused; workers get that time back/);
    expect(coordinator.stderr).not.toMatch(/worker lost/);
  }, 90_000);
});
