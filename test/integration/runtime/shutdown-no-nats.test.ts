import { afterEach, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE, formatSchedule } from '../../../core/engine/schedule.js';
import { startCli, type Proc } from '../../support/procs.js';
import { TestCluster } from './cluster.js';

// SIGTERM after nats-server has gone: with no job running the coordinator and the workers exit within 10 s;
// with a job running, strictly within --drain-timeout-s.
const DRAIN_S = 4;

async function exitSeconds(procs: readonly Proc[]): Promise<number[]> {
  const t0 = Date.now();
  for (const p of procs) p.child.kill('SIGTERM');
  return Promise.all(procs.map(async (p) => {
    await p.exited;
    return (Date.now() - t0) / 1000;
  }));
}

describe('SIGTERM with nats-server gone', () => {
  let cluster = new TestCluster();
  afterEach(async () => {
    await cluster.close();
    cluster = new TestCluster();
  });

  it('no job running: coordinator and workers exit within 10 s', async () => {
    const { coordinator, workers } = await cluster.startAll(['w1', 'w2'], 5, 4);
    cluster.nats?.child.kill('SIGKILL');
    await cluster.nats?.exited;
    await new Promise((r) => setTimeout(r, 500));
    const seconds = await exitSeconds([coordinator, ...workers]);
    for (const s of seconds) expect(s).toBeLessThan(10);
    expect(coordinator.stderr).toMatch(/stopped/);
  }, 60_000);

  it('a job running: they exit within --drain-timeout-s', async () => {
    await cluster.startNats();
    const coordinator = await cluster.startCoordinator(['--drain-timeout-s', String(DRAIN_S)]);
    const workers = await Promise.all(['w1', 'w2'].map((id) => cluster.startWorker(id, 20, 4, ['--drain-timeout-s', String(DRAIN_S)])));
    await cluster.waitForWorkers(2);
    const search = startCli('search', ['search', '--coordinator', cluster.coordinatorAddr, '--prompts', '0:40', '--candidates', '40', '--schedule', formatSchedule(PAPER_SCHEDULE), '--json', '--reconnect-timeout-s', '1']);
    cluster.procs.push(search);
    await cluster.waitForPromptsDone(1);
    cluster.nats?.child.kill('SIGKILL');
    await cluster.nats?.exited;
    const seconds = await exitSeconds([coordinator, ...workers]);
    for (const s of seconds) expect(s).toBeLessThan(DRAIN_S);
  }, 90_000);
});
