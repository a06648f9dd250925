// search --request-id: a rerun of the same search (a retried Kubernetes Job) re-attaches to the job it submitted
// instead of starting another; the same key with another request is a job of its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE, formatSchedule } from '../../../core/engine/schedule.js';
import type { Proc } from '../../support/procs.js';
import { TestCluster } from './cluster.js';
import { picks, searchCli } from './search-cli.js';

const args = (cluster: TestCluster, seed: number): string[] =>
  ['--coordinator', cluster.coordinatorAddr, '--prompts', '70:73', '--candidates', '16', '--schedule', formatSchedule(PAPER_SCHEDULE), '--seed', String(seed), '--request-id', 'ttsnap-search-7f2k'];

describe('search --request-id re-attaches to the job it submitted', () => {
  const cluster = new TestCluster();
  let coordinator: Proc;
  beforeAll(async () => {
    await cluster.startNats();
    coordinator = await cluster.startCoordinator();
    await cluster.startWorker('w1', 2, 4);
    await cluster.waitForWorkers(1);
  });
  afterAll(() => cluster.close());

  it('the same search twice is one job with one result; another request under the same key is a new job', async () => {
    const first = await searchCli(args(cluster, 5));
    const again = await searchCli(args(cluster, 5));
    expect(again.doc.job).toBe(first.doc.job);
    expect(picks(again.doc)).toEqual(picks(first.doc));
    const other = await searchCli(args(cluster, 6));
    expect(other.doc.job).not.toBe(first.doc.job);
    expect(coordinator.stderr.match(/"msg":"job accepted"/g)).toHaveLength(2);
  }, 120_000);

  it('after a coordinator restart, the rerun of a search that had finished gets that job from the store: nothing runs again', async () => {
    const first = await searchCli(args(cluster, 8));
    coordinator.child.kill('SIGKILL');
    await coordinator.exited;
    coordinator = await cluster.startCoordinator([], cluster.coordinatorAddr);
    const again = await searchCli(args(cluster, 8));
    expect(again.doc.job).toBe(first.doc.job);
    expect(picks(again.doc)).toEqual(picks(first.doc));
    expect(again.doc.ledger).toEqual(first.doc.ledger);
    expect(coordinator.stderr).not.toContain('"msg":"job accepted"');
  }, 120_000);

  it('refuses a key that is not a plain identifier, naming the flag', async () => {
    const bad = args(cluster, 5).map((a) => (a === 'ttsnap-search-7f2k' ? 'two words' : a));
    await expect(searchCli(bad)).rejects.toThrow(/--request-id.*"two words".*1 to 100 letters/);
  });
});
