import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE, formatSchedule } from '../../../core/engine/schedule.js';
import { CoordinatorGrpcClient } from '../../../coordinator/client.js';
import { waitFor } from '../../support/procs.js';
import { TestCluster } from './cluster.js';
import { engineAlone } from './engine-alone.js';
import { enginePicks, engineTotal, picks, searchCli } from './search-cli.js';

// nats-server is killed (kill -9) in the middle of a job and started again 2 s later on the same port and
// JetStream store. Scores published meanwhile are lost; the coordinator asks for the missing ones as soon as it
// is connected again. With a score timeout of 30 s, a stage that waited for it would show in the run time.
const PROMPTS: [number, number] = [60, 72];
const N = 40;
const SEED = 21;
const SCORE_TIMEOUT_S = 30;

describe('nats-server killed mid-job and restarted 2 s later', () => {
  const cluster = new TestCluster();
  beforeAll(async () => {
    await cluster.startNats();
    await cluster.startCoordinator(['--score-timeout-ms', String(SCORE_TIMEOUT_S * 1000)]);
    await Promise.all(['w1', 'w2', 'w3'].map((id) => cluster.startWorker(id, 10, 4)));
    await cluster.waitForWorkers(3);
  });
  afterAll(() => cluster.close());

  it('the job completes with the same winners and ledger, and no stage waits for the score timeout', async () => {
    const prompts = Array.from({ length: PROMPTS[1] - PROMPTS[0] }, (_, i) => PROMPTS[0] + i);
    const expected = engineAlone(prompts, N, PAPER_SCHEDULE, SEED);
    const run = searchCli(['--coordinator', cluster.coordinatorAddr, '--prompts', `${PROMPTS[0]}:${PROMPTS[1]}`, '--candidates', String(N), '--schedule', formatSchedule(PAPER_SCHEDULE), '--seed', String(SEED)], 120_000);
    const probe = new CoordinatorGrpcClient(cluster.coordinatorAddr);
    const doneBefore = await waitFor('3 prompts done', async () => {
      const [job] = await probe.list(1);
      return job && job.prompts_done >= 3 ? job.prompts_done : undefined;
    }, 60_000, 50);
    await cluster.restartNats(2000);
    const back = Date.now();
    const { doc } = await run;
    const afterRestartS = (Date.now() - back) / 1000;
    const [job] = await probe.list(1);
    probe.close();
    expect(doneBefore).toBeLessThan(prompts.length);
    expect(job?.state).toBe('done');
    expect(picks(doc)).toEqual(enginePicks(expected));
    expect(doc.ledger).toEqual(engineTotal(expected));
    expect(afterRestartS, `the job ended ${afterRestartS} s after nats-server came back:\n${cluster.procs.map((p) => p.output()).join('\n')}`).toBeLessThan(SCORE_TIMEOUT_S);
  }, 150_000);
});
