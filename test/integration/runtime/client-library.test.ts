// The package's typed client (`import { TtsnapClient } from 'ttsnap/client'`, through package.json's exports)
// against a coordinator process: the same jobs, events and results as `ttsnap jobs`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TtsnapClient, ValidationError, type JobEvent } from 'ttsnap/client';
import { writeSyntheticPair } from '../../../bench/trace-pair.js';
import { runCli } from '../../support/procs.js';
import { TestCluster } from './cluster.js';

describe('ttsnap/client', () => {
  let cluster: TestCluster | undefined;
  let client: TtsnapClient | undefined;
  afterEach(async () => {
    client?.close();
    await cluster?.close();
  });

  it('submits, watches, reads, lists, cancels and deletes as `ttsnap jobs` does', { timeout: 60_000 }, async () => {
    const c = (cluster = new TestCluster());
    const dir = mkdtempSync(join(tmpdir(), 'ttsnap-client-'));
    c.dirs.push(dir);
    c.traceFiles = writeSyntheticPair(dir, 12, 32);
    await c.startAll(['w1'], 0, 8);
    client = TtsnapClient.connect(c.coordinatorAddr);

    await expect(client.submit({ prompts: [1], candidates: 999 })).rejects.toThrow(ValidationError);
    const { job, candidatesPerPrompt } = await client.submit({ prompts: [5, 2, 9], candidates: 16, seed: 3, label: 'from the library' });
    expect(candidatesPerPrompt).toBe(16);
    const events: JobEvent[] = [];
    const done = await client.watch(job, (e) => events.push(e));
    expect(done.done?.state).toBe('done');
    expect(events.filter((e) => e.prompt_done).map((e) => e.prompt_done?.prompt).sort()).toEqual([2, 5, 9]);

    const report = await client.result(job);
    const cli = await runCli(['jobs', 'result', job, '--coordinator', c.coordinatorAddr, '--json']);
    expect(report).toEqual(JSON.parse(cli.stdout));
    expect(report.prompts.map((p) => p.prompt)).toEqual([5, 2, 9]);
    expect(report.provenance?.seed).toBe(3);
    expect((await client.list()).find((j) => j.job === job)).toMatchObject({ state: 'done', prompts: 3, prompts_done: 3, label: 'from the library' });
    expect(await client.cancel(job)).toBe('done');
    expect(await client.delete(job)).toEqual({ in_memory: true, stored: true, journal: true });
    expect(await client.list()).toEqual([]);
  });
});
