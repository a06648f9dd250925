import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE, formatSchedule } from '../../../core/engine/schedule.js';
import { startCli, type Proc } from '../../support/procs.js';
import { TestCluster } from './cluster.js';
import { engineAlone } from './engine-alone.js';
import { enginePicks, picks, type SearchDoc } from './search-cli.js';

// SIGTERM of the coordinator while a job runs longer than --drain-timeout-s: the process exits strictly within
// it and hands the job over instead of cancelling it. The journal keeps it running, the watching client is told
// the coordinator went away (never that the job was cancelled), and a coordinator started later on the same
// NATS finishes it: the client, still reconnecting, prints the winners of an uninterrupted run.
const PROMPTS = Array.from({ length: 12 }, (_, i) => 20 + i);
const N = 40;
const DRAIN_S = 3;

describe('coordinator drained past --drain-timeout-s with a job running', () => {
  const cluster = new TestCluster();
  let coordinator: Proc;
  beforeAll(async () => {
    await cluster.startNats();
    coordinator = await cluster.startCoordinator(['--drain-timeout-s', String(DRAIN_S)]);
    await Promise.all(['w1', 'w2'].map((id) => cluster.startWorker(id, 10, 4)));
    await cluster.waitForWorkers(2);
  });
  afterAll(() => cluster.close());

  it('exits within the timeout, leaves the job to the next coordinator, and the client gets the same winners', async () => {
    const search = startCli('search', [
      'search', '--coordinator', cluster.coordinatorAddr, '--prompts', '20:32', '--candidates', String(N),
      '--schedule', formatSchedule(PAPER_SCHEDULE), '--seed', '17', '--json', '--reconnect-timeout-s', '60',
    ]);
    cluster.procs.push(search);
    let stdout = '';
    search.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    await cluster.waitForPromptsDone(2);
    const t0 = Date.now();
    coordinator.child.kill('SIGTERM');
    expect(await coordinator.exited).toBe(0);
    expect((Date.now() - t0) / 1000).toBeLessThan(DRAIN_S);
    // (its last log line may not make it: the process exits at the deadline whatever closing still waits on)

    coordinator = await cluster.startCoordinator([], cluster.coordinatorAddr);
    expect(coordinator.stderr).toMatch(/resuming 1 running job\(s\) from the journal/);
    expect(await search.exited).toBe(0);
    expect(search.stderr).toMatch(/lost the coordinator \(.*the coordinator is shutting down; job \S+ continues when a coordinator starts on the same NATS/);
    expect(search.stderr).not.toMatch(/cancelled/);
    const doc = JSON.parse(stdout) as SearchDoc;
    expect(picks(doc).map((p) => [p.prompt, p.winner, p.explored])).toEqual(enginePicks(engineAlone(PROMPTS, N, PAPER_SCHEDULE, 17)).map((p) => [p.prompt, p.winner, p.explored]));
  }, 120_000);
});
