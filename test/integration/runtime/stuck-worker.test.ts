import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE, formatSchedule } from '../../../core/engine/schedule.js';
import { CoordinatorGrpcClient } from '../../../coordinator/client.js';
import { httpGet, waitFor, type Proc } from '../../support/procs.js';
import { TestCluster } from './cluster.js';
import { engineAlone } from './engine-alone.js';
import { enginePicks, picks, searchCli } from './search-cli.js';

// A worker whose backend call hangs while the process stays alive and heartbeats (fault injection), and a
// worker stopped whole with SIGSTOP then continued: either way the job completes with the engine's winners.
const N = 40;
const SEED = 17;
const SCORE_TIMEOUT_S = 60;
const WATCHDOG_S = 2;

function searchArgs(cluster: TestCluster, first: number, count: number): string[] {
  return ['--coordinator', cluster.coordinatorAddr, '--prompts', `${first}:${first + count}`, '--candidates', String(N), '--schedule', formatSchedule(PAPER_SCHEDULE), '--seed', String(SEED)];
}

async function startCluster(cluster: TestCluster, hungExtra: string[] = []): Promise<Proc[]> {
  await cluster.startNats();
  await cluster.startCoordinator(['--score-timeout-ms', String(SCORE_TIMEOUT_S * 1000)]);
  const workers = await Promise.all([
    cluster.startWorker('w1', 10, 4),
    cluster.startWorker('w2', 10, 4),
    cluster.startWorker('w3', 10, 4, hungExtra),
  ]);
  await cluster.waitForWorkers(3);
  return workers;
}

describe('a worker whose backend call hangs (--fault hang-after=20) while the process stays alive', () => {
  const cluster = new TestCluster();
  let hung: Proc;
  beforeAll(async () => {
    [, , hung] = (await startCluster(cluster, ['--fault', 'hang-after=20', '--batch-timeout-s', String(WATCHDOG_S)])) as [Proc, Proc, Proc];
  });
  afterAll(() => cluster.close());

  it('is caught by the batch watchdog; the job completes with the same winners, long before the score timeout', async () => {
    const prompts = Array.from({ length: 8 }, (_, i) => 30 + i);
    const t0 = Date.now();
    const { doc } = await searchCli(searchArgs(cluster, 30, 8), 120_000);
    const seconds = (Date.now() - t0) / 1000;
    const keep = (p: { prompt: number; winner: number; explored: number[] }) => [p.prompt, p.winner, p.explored];
    expect(picks(doc).map(keep)).toEqual(enginePicks(engineAlone(prompts, N, PAPER_SCHEDULE, SEED)).map(keep));
    expect(doc.movement.workers_lost).toBeGreaterThanOrEqual(1);
    expect(doc.movement.recomputed_steps).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(SCORE_TIMEOUT_S);
    expect(hung.running).toBe(true);
    expect(hung.stderr).toMatch(/longer than the 2 s watchdog/);
  }, 150_000);
});

describe('a worker stopped whole (SIGSTOP) mid-job, then continued (SIGCONT)', () => {
  const cluster = new TestCluster();
  let stopped: Proc;
  beforeAll(async () => {
    [, stopped] = (await startCluster(cluster)) as [Proc, Proc, Proc];
  });
  afterAll(() => cluster.close());

  it('is lost by heartbeat; the job completes with the same winners, and its late scores change nothing', async () => {
    const prompts = Array.from({ length: 12 }, (_, i) => 50 + i);
    const run = searchCli(searchArgs(cluster, 50, 12), 120_000);
    const probe = new CoordinatorGrpcClient(cluster.coordinatorAddr);
    await waitFor('2 prompts done', async () => {
      const [job] = await probe.list(1);
      return job && job.prompts_done >= 2 ? true : undefined;
    }, 60_000, 50);
    stopped.child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 3000)); // past the 1.5 s worker timeout
    stopped.child.kill('SIGCONT');
    const { doc } = await run;
    probe.close();
    const keep = (p: { prompt: number; winner: number; explored: number[] }) => [p.prompt, p.winner, p.explored];
    expect(picks(doc).map(keep)).toEqual(enginePicks(engineAlone(prompts, N, PAPER_SCHEDULE, SEED)).map(keep));
    expect(doc.movement.workers_lost).toBeGreaterThanOrEqual(1); // on a loaded host others may miss a heartbeat too
    expect(stopped.running).toBe(true);
    await cluster.waitForWorkers(3); // it registers again and serves
  }, 150_000);
});

describe('a worker whose backend throws on every call (--fault throw=1)', () => {
  const cluster = new TestCluster();
  let broken: Proc;
  let coordinator: Proc;
  beforeAll(async () => {
    await cluster.startNats();
    // a score timeout longer than the test: the coordinator must learn of each failed batch from the worker's
    // push on NATS, not from asking again for its scores
    coordinator = await cluster.startCoordinator(['--score-timeout-ms', '600000']);
    [, , broken] = await Promise.all([cluster.startWorker('w1', 5, 4), cluster.startWorker('w2', 5, 4), cluster.startWorker('w3', 5, 4, ['--fault', 'throw=1'])]);
    await cluster.waitForWorkers(3);
  });
  afterAll(() => cluster.close());

  it('is quarantined, and the job completes with the same winners', async () => {
    const prompts = Array.from({ length: 12 }, (_, i) => 70 + i);
    const { doc } = await searchCli(searchArgs(cluster, 70, 12), 120_000);
    const keep = (p: { prompt: number; winner: number; explored: number[] }) => [p.prompt, p.winner, p.explored];
    expect(picks(doc).map(keep)).toEqual(enginePicks(engineAlone(prompts, N, PAPER_SCHEDULE, SEED)).map(keep));
    expect(coordinator.stderr).toMatch(/"worker":"w3","reason":"quarantined for 5 s after 3 failed calls in a row, the last: .*injected fault.*"msg":"worker lost/);
    expect(broken.running).toBe(true);
    const metrics = (await httpGet(`http://127.0.0.1:${cluster.metricsPort}/metrics`))?.body ?? '';
    expect(metrics).toMatch(/ttsnap_worker_faults_total\{worker="w3"\} [3-9]/);
    expect(metrics).not.toMatch(/ttsnap_worker_faults_total\{worker="w[12]"\}/);
  }, 150_000);
});
