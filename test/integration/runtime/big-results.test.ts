// Large results across processes, on a nats-server whose max_payload is lowered to 8 KiB so that CI exercises
// the paths a 20 MiB result takes under the default 1 MiB: the result is stored in pages of chunks, GetResult
// pages through it from the store after a coordinator restart, `jobs delete` forgets it, and a store that
// refuses the result is reported (done event, `search` warning, error log line, metric, ListJobs).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeSyntheticPair } from '../../../bench/trace-pair.js';
import { httpGet, runCli } from '../../support/procs.js';
import { TestCluster } from './cluster.js';

const MAX_PAYLOAD = 8 * 1024;
const PROMPTS = 80;

interface Doc { job: string; prompts: { prompt: number; winner: { candidate: number }; top_k: unknown[]; explored: number[] }[]; ledger: { cost: number } }

async function bigCluster(coordinatorExtra: string[] = []): Promise<TestCluster> {
  const c = new TestCluster();
  const dir = mkdtempSync(join(tmpdir(), 'ttsnap-bigres-'));
  c.dirs.push(dir);
  c.traceFiles = writeSyntheticPair(dir, PROMPTS, 32);
  await c.startNats({ maxPayload: MAX_PAYLOAD });
  await c.startCoordinator(coordinatorExtra);
  await Promise.all(['w1', 'w2'].map((id) => c.startWorker(id, 0, 16)));
  await c.waitForWorkers(2);
  return c;
}

const search = (c: TestCluster, out: string) =>
  runCli(['search', '--coordinator', c.coordinatorAddr, '--prompts', `0:${PROMPTS}`, '--candidates', '24', '--top-k', '24', '--seed', '3', '--out', out, '--json', '--quiet']);
const jobs = (c: TestCluster, ...args: string[]) => runCli(['jobs', ...args, '--coordinator', c.coordinatorAddr, '--json']);

describe('results larger than a NATS message', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('are stored whole, paged back by GetResult after a coordinator restart, and deleted with `jobs delete`', { timeout: 90_000 }, async () => {
    const c = (cluster = await bigCluster());
    const out = join(c.dirs[0] as string, 'out');
    const r = await search(c, out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('could not be stored');
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.prompts).toHaveLength(PROMPTS);
    expect(r.stdout.length).toBeGreaterThan(6 * MAX_PAYLOAD);
    expect(readFileSync(join(out, 'results.jsonl'), 'utf8').trim().split('\n')).toHaveLength(PROMPTS);

    // a new coordinator holds nothing in memory: the result comes from the store, in pages
    const first = c.procs.find((p) => p.name === 'coordinator');
    first?.child.kill('SIGKILL');
    await first?.exited;
    await c.startCoordinator([], c.coordinatorAddr);
    const stored = await jobs(c, 'result', doc.job);
    expect(stored.code, stored.stderr).toBe(0);
    expect((JSON.parse(stored.stdout) as Doc).prompts.map((p) => [p.prompt, p.winner.candidate, p.explored])).toEqual(doc.prompts.map((p) => [p.prompt, p.winner.candidate, p.explored]));
    // `jobs watch` gets its done event, from the stored summary
    const watched = await jobs(c, 'watch', doc.job);
    expect(watched.code, watched.stderr).toBe(0);
    const done = (JSON.parse(watched.stdout.trim()) as { done: { state: string; prompts: number; result: { ledger: { cost: number } } } }).done;
    expect([done.state, done.prompts, done.result.ledger.cost]).toEqual(['done', PROMPTS, doc.ledger.cost]);
    // `jobs cancel` says it ended (done), as for a job in memory
    const cancel = await jobs(c, 'cancel', doc.job);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(JSON.parse(cancel.stdout)).toMatchObject({ state: 'done' });
    // and `jobs list` still shows the job, from the store's listing of it
    const listed = await jobs(c, 'list');
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { job: string }[]).find((j) => j.job === doc.job)).toMatchObject({ state: 'done', prompts: PROMPTS, prompts_done: PROMPTS, store_error: '' });

    const del = await jobs(c, 'delete', doc.job);
    expect(del.code, del.stderr).toBe(0);
    expect(JSON.parse(del.stdout)).toEqual({ job: doc.job, in_memory: false, stored: true, journal: true });
    const gone = await jobs(c, 'result', doc.job);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('NOT_FOUND');
    expect((await jobs(c, 'delete', doc.job)).stderr).toContain('NOT_FOUND');
    expect(JSON.parse((await jobs(c, 'list')).stdout)).toEqual([]);
  });

  it('a result the store refuses is an error the operator sees: search warns, ListJobs, log and metric say so', { timeout: 90_000 }, async () => {
    // a store cap far below the result: the put fails and nothing else is dropped for it
    const c = (cluster = await bigCluster(['--results-max-mb', '0.01']));
    const r = await search(c, join(c.dirs[0] as string, 'refused'));
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.prompts).toHaveLength(PROMPTS);
    expect(r.stderr).toMatch(new RegExp(`warning: job ${doc.job}: the result could not be stored \\(the result takes \\d+ bytes, more than the store keeps`));
    const list = JSON.parse((await jobs(c, 'list')).stdout) as { job: string; store_error: string }[];
    expect(list.find((j) => j.job === doc.job)?.store_error).toContain('could not be stored');
    const coordinator = c.procs.find((p) => p.name === 'coordinator');
    expect(coordinator?.stderr).toMatch(/"level":"error".*"job":"[^"]+".*result store: the result could not be stored/);
    const metrics = (await httpGet(`http://127.0.0.1:${c.metricsPort}/metrics`))?.body ?? '';
    expect(metrics).toMatch(/ttsnap_result_store_errors_total\{op="put"\} 1\b/);
    // still in the coordinator's memory: GetResult answers from there
    expect((JSON.parse((await jobs(c, 'result', doc.job)).stdout) as Doc).prompts).toHaveLength(PROMPTS);
  });
});
