// 100,000 prompts submitted to a coordinator process: the client uploads them in chunks (SubmitJobUpload), the
// coordinator journals the request in parts no larger than a NATS message, and a coordinator started after a
// kill -9 resumes the whole job from that journal.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeSyntheticPair } from '../../../bench/trace-pair.js';
import { CoordinatorGrpcClient } from '../../../coordinator/client.js';
import { waitFor } from '../../support/procs.js';
import { TestCluster } from './cluster.js';

const PROMPTS = 100_000;

describe('a 100,000-prompt job', () => {
  let cluster: TestCluster | undefined;
  let client: CoordinatorGrpcClient | undefined;
  afterEach(async () => {
    client?.close();
    await cluster?.close();
    cluster = undefined;
  });

  it('is uploaded in chunks, journaled in parts, and resumed whole by a restarted coordinator', { timeout: 120_000 }, async () => {
    const c = (cluster = new TestCluster());
    const dir = mkdtempSync(join(tmpdir(), 'ttsnap-upload-'));
    c.dirs.push(dir);
    c.traceFiles = writeSyntheticPair(dir, PROMPTS, 2);
    await c.startNats();
    await c.startCoordinator();
    await c.startWorker('w1', 200, 2);
    await c.waitForWorkers(1);
    client = new CoordinatorGrpcClient(c.coordinatorAddr);
    const { job, candidates } = await client.submit({ prompts: Array.from({ length: PROMPTS }, (_, i) => i), candidates: 2, policy: 'bon', seed: 4 });
    expect(candidates).toBe(2);
    expect((await client.list()).find((j) => j.job === job)).toMatchObject({ prompts: PROMPTS, state: expect.stringMatching(/queued|running/) });

    const first = c.procs.find((p) => p.name === 'coordinator');
    first?.child.kill('SIGKILL');
    await first?.exited;
    await c.startCoordinator([], c.coordinatorAddr);
    const resumed = await waitFor('the job resumed', async () => (await client?.list().catch(() => []))?.find((j) => j.job === job), 30_000, 200);
    expect(resumed).toMatchObject({ prompts: PROMPTS, state: expect.stringMatching(/queued|running/) });
    expect(await client.cancel(job)).toBe('cancelled');
    expect(await client.delete(job)).toEqual({ in_memory: true, stored: true, journal: true });
  });
});
