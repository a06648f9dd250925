import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE, formatSchedule } from '../../../core/engine/schedule.js';
import { freePort, runCli, startCli, waitFor } from '../../support/procs.js';
import { TestCluster } from './cluster.js';

// `ttsnap jobs list|watch|result|cancel` against a real coordinator, and the exit codes of cli/exit-codes.ts.
describe('ttsnap jobs', () => {
  const cluster = new TestCluster();
  beforeAll(() => cluster.startAll(['w1', 'w2'], 40, 4));
  afterAll(() => cluster.close());

  it('lists a running job, cancels it (search exits 3), watches and reads it', async () => {
    const search = startCli('search', ['search', '--coordinator', cluster.coordinatorAddr, '--prompts', '0:50', '--candidates', '40', '--schedule', formatSchedule(PAPER_SCHEDULE), '--json']);
    cluster.procs.push(search);
    const at = ['--coordinator', cluster.coordinatorAddr];
    const listed = await waitFor('the job listed', async () => {
      const r = await runCli(['jobs', 'list', ...at, '--json']);
      const [first] = JSON.parse(r.stdout || '[]') as { job: string; state: string; pool: string }[];
      return first?.state === 'running' ? first : undefined;
    }, 30_000, 200);
    const job = listed.job;
    const table = await runCli(['jobs', 'list', ...at]);
    expect(table.code).toBe(0);
    // the pool column names the workers' pool the job runs on (its backend's name and a hash of its fingerprint)
    expect(listed.pool).toMatch(/^\S+@[0-9a-f]{8}$/);
    expect(table.stdout).toMatch(new RegExp(`${job}\\s+running\\s+\\d+/50`));
    const row = table.stdout.split('\n').find((l) => l.startsWith(job))?.split(/\s+/);
    expect([row?.[3], row?.[5]]).toEqual(['40', listed.pool]); // N, then the pool after the cost
    const cancel = await runCli(['jobs', 'cancel', job, ...at]);
    expect([cancel.code, cancel.stdout]).toEqual([0, `job ${job} cancelled\n`]);
    expect(await search.exited).toBe(3);
    const watch = await runCli(['jobs', 'watch', job, ...at]);
    expect(watch.code).toBe(3);
    expect(watch.stderr).toMatch(`job ${job} cancelled`);
    const result = await runCli(['jobs', 'result', job, ...at, '--json']);
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { job: string }).job).toBe(job);
  }, 90_000);

  it('exit codes: 1 for an unknown job, 2 for a bad flag, 4 when no coordinator answers within the window', async () => {
    const at = ['--coordinator', cluster.coordinatorAddr];
    expect((await runCli(['jobs', 'result', 'j-nope', ...at])).code).toBe(1);
    const bad = await runCli(['jobs', 'list', '--coordinator', 'nowhere']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--coordinator/);
    const gone = await runCli(['jobs', 'watch', 'j1', '--coordinator', `127.0.0.1:${await freePort()}`, '--reconnect-timeout-s', '1']);
    expect(gone.code).toBe(4);
    expect(gone.stderr.match(/lost the coordinator/g)).toHaveLength(1);
  }, 60_000);
});

// A job whose only worker is killed waits, and says so through real gRPC: `jobs list`, and the search that follows it.
describe('ttsnap jobs, a job that waits for a worker', () => {
  const cluster = new TestCluster();
  beforeAll(() => cluster.startAll(['w1'], 40, 4));
  afterAll(() => cluster.close());

  it('shows it running (waiting) with the reason, and the search prints when it waits and when it goes on', async () => {
    const search = startCli('search', ['search', '--coordinator', cluster.coordinatorAddr, '--prompts', '0:8', '--candidates', '16', '--schedule', formatSchedule(PAPER_SCHEDULE)]);
    cluster.procs.push(search);
    await cluster.waitForPromptsDone(1);
    const [w1] = cluster.procs.filter((p) => p.name === 'w1');
    w1?.child.kill('SIGKILL');
    await w1?.exited;
    const at = ['--coordinator', cluster.coordinatorAddr];
    const listed = await waitFor('the job listed as waiting', async () => {
      const r = await runCli(['jobs', 'list', ...at]);
      return /running \(waiting\)/.test(r.stdout) ? r : undefined;
    }, 30_000, 200);
    const [job] = JSON.parse((await runCli(['jobs', 'list', ...at, '--json'])).stdout) as { job: string; pool: string; waiting: string }[];
    const why = `no worker of pool ${job?.pool} is registered: start one`;
    expect(job?.waiting).toBe(why);
    expect(listed.stderr).toContain(`job ${job?.job} waits: ${why}\n`);
    await cluster.startWorker('w2', 10, 4);
    expect(await search.exited).toBe(0);
    expect(search.stderr).toContain(`job waits: ${why}\n`);
    expect(search.stderr).toContain('job continues: a worker takes its candidates\n');
    expect(search.stderr.indexOf('job waits')).toBeLessThan(search.stderr.indexOf('job continues'));
  }, 90_000);
});

