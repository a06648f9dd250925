import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE, formatSchedule } from '../../../core/engine/schedule.js';
import { writeNpy } from '../../../core/trace/npy.js';
import { syntheticTrace } from '../../../core/trace/synthetic.js';
import { CoordinatorGrpcClient } from '../../../coordinator/client.js';
import { ValidationError } from '../../../core/errors.js';
import { startCli, waitFor } from '../../support/procs.js';
import { TestCluster } from './cluster.js';
import { engineAlone, trace } from './engine-alone.js';
import { enginePicks, picks, searchCli, type SearchDoc } from './search-cli.js';

// A rolling model update without a coordinator restart: workers with another backend (here another trace: its
// name and numbers differ, so its fingerprint does) join while the first pool runs a job. They form their own
// pool; a job names the pool it needs; each pool serves only its jobs, and both give the engine-alone winners.
const N = 40;

describe('worker pools by backend fingerprint', () => {
  const cluster = new TestCluster();
  const other = syntheticTrace({ seed: 7, prompts: 20, candidates: 64, steps: trace().steps, name: 'poolb_pic' });
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ttsnap-pool-b-'));
    cluster.dirs.push(dir);
    const shape = [other.prompts, other.candidates, other.steps];
    writeNpy(join(dir, 'poolb_pic_base.npy'), { shape, data: other.base });
    writeNpy(join(dir, 'poolb_pic_narf.npy'), { shape, data: other.narf });
    await cluster.startAll(['a1', 'a2'], 12, 4);
    cluster.traceFiles = { base: join(dir, 'poolb_pic_base.npy'), narf: join(dir, 'poolb_pic_narf.npy') };
  });
  afterAll(() => cluster.close());

  it('a new worker with a different backend joins while another pool runs a job: both pools serve their jobs', async () => {
    const promptsA = Array.from({ length: 16 }, (_, i) => 30 + i);
    const promptsB = [0, 1, 2, 3];
    const schedule = formatSchedule(PAPER_SCHEDULE);
    const searchA = startCli('search-a', ['search', '--coordinator', cluster.coordinatorAddr, '--prompts', '30:46', '--candidates', String(N), '--schedule', schedule, '--seed', '3', '--json']);
    cluster.procs.push(searchA);
    let stdoutA = '';
    searchA.child.stdout?.on('data', (d: Buffer) => (stdoutA += d.toString()));
    const probe = new CoordinatorGrpcClient(cluster.coordinatorAddr);
    await waitFor('job A running', async () => ((await probe.list(1))[0]?.state === 'running' ? true : undefined), 30_000, 50);

    await cluster.startWorker('b1', 4, 4);
    await cluster.waitForWorkers(3);
    // two pools serve: a job that names none is refused, naming the field and the pools
    const refused = await probe.submit({ prompts: promptsB, candidates: N }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).field).toBe('pool');
    expect((refused as Error).message).toMatch(/^pool: 2 worker pools serve and the job names none; allowed: (flux_pic|poolb_pic)@[0-9a-f]{8} \| (flux_pic|poolb_pic)@[0-9a-f]{8}/);
    // job A still runs when job B starts: the pools work side by side
    expect((await probe.list(1))[0]?.state).toBe('running');
    const { doc: docB } = await searchCli(['--coordinator', cluster.coordinatorAddr, '--pool', 'poolb_pic', '--prompts', '0:4', '--candidates', String(N), '--schedule', schedule, '--seed', '5']);
    expect(await searchA.exited).toBe(0);
    probe.close();
    const docA = JSON.parse(stdoutA) as SearchDoc;

    expect(picks(docB)).toEqual(enginePicks(engineAlone(promptsB, N, PAPER_SCHEDULE, 5, other)));
    expect(picks(docA)).toEqual(enginePicks(engineAlone(promptsA, N, PAPER_SCHEDULE, 3)));
    // each job ran on its pool's workers only
    expect(Object.keys(docB.timeline.worker_busy_s)).toEqual(['b1']);
    expect(Object.keys(docA.timeline.worker_busy_s).sort()).toEqual(['a1', 'a2']);
  }, 120_000);
});
