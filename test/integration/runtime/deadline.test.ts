import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE, formatSchedule } from '../../../core/engine/schedule.js';
import { CoordinatorGrpcClient } from '../../../coordinator/client.js';
import { ValidationError } from '../../../core/errors.js';
import { startCli } from '../../support/procs.js';
import { TestCluster } from './cluster.js';

// SubmitJob.deadline_s / search --deadline-s: a job still running at its deadline is cancelled, saying why, and
// `search` exits with the README's code for a cancelled job (3).
describe('per-job deadline', () => {
  const cluster = new TestCluster();
  beforeAll(() => cluster.startAll(['w1'], 20, 4));
  afterAll(() => cluster.close());

  it('a job past its deadline is cancelled with the reason; search exits 3', async () => {
    const t0 = Date.now();
    const search = startCli('search', ['search', '--coordinator', cluster.coordinatorAddr, '--prompts', '0:40', '--candidates', '40', '--schedule', formatSchedule(PAPER_SCHEDULE), '--deadline-s', '1.5', '--json']);
    cluster.procs.push(search);
    expect(await search.exited).toBe(3);
    expect(Date.now() - t0).toBeGreaterThan(1500);
    expect(search.stderr).toMatch(/job ended cancelled: deadline: still running 1\.5 s after submission \(deadline_s\)/);
    const client = new CoordinatorGrpcClient(cluster.coordinatorAddr);
    const [job] = await client.list(1);
    expect(job?.state).toBe('cancelled');
    const bad = await client.submit({ prompts: [0], candidates: 4, deadline_s: -1 }).catch((e: unknown) => e);
    client.close();
    expect(bad).toBeInstanceOf(ValidationError);
    expect((bad as Error).message).toBe('deadline_s: got -1; allowed: seconds in [0, 2592000] (0 = none)');
  }, 60_000);
});
