// The package's typed client (`import { TtsnapClient } from 'ttsnap/client'`, through package.json's exports)
// against a coordinator process: the same jobs, events and results as `ttsnap jobs`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CoordinatorCallError, TtsnapClient, ValidationError, type CandidatePreview, type JobEvent } from 'ttsnap/client';
import { writeSyntheticPair } from '../../../bench/trace-pair.js';
import { decodePng } from '../../../core/image/png.js';
import { PROMPT } from '../../models/helpers.js';
import { onnxClusterForSuite } from '../../models/onnx-cluster.js';
import { httpGet, runCli } from '../../support/procs.js';
import { TestCluster } from './cluster.js';

const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

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

describe('ttsnap/client: contact-sheet previews from a coordinator with an onnx worker process', () => {
  const cluster = onnxClusterForSuite(['w1']);
  let client: TtsnapClient | undefined;
  afterEach(() => client?.close());

  /** ttsnap_preview_bytes on the coordinator's /metrics now. */
  const heldBytes = async (): Promise<number> => {
    const m = /^ttsnap_preview_bytes (\d+)$/m.exec((await httpGet(`http://127.0.0.1:${cluster.metricsPort}/metrics`))?.body ?? '');
    return Number(m?.[1] ?? -1);
  };

  it('hands each prompt\'s over once: every candidate at the prune step, the survivors at the last, as 32 px PNGs', { timeout: 120_000 }, async () => {
    client = TtsnapClient.connect(cluster.coordinatorAddr);
    const { job } = await client.submit({ texts: [PROMPT, 'a green triangle left of a red square'], candidates: 4, seed: 5, schedule: [{ step: 2, alpha: 0.5 }], previews: true });
    const kept = new Map<number, number[]>();
    const finalStep = new Map<number, number>();
    const winners = new Map<number, { candidate: number; rewards: Record<string, number> }>();
    const done = await client.watch(job, (e) => {
      if (e.pruned?.step === 2) kept.set(e.pruned.prompt, e.pruned.kept);
      if (e.stage?.final) finalStep.set(e.stage.prompt, e.stage.step);
      if (e.prompt_done?.winner) winners.set(e.prompt_done.prompt, e.prompt_done.winner);
    });
    expect(done.done?.state).toBe('done');
    expect([...winners.keys()].sort()).toEqual([0, 1]);

    const held = await heldBytes();
    const fetched: CandidatePreview[][] = [];
    for (const p of [0, 1]) fetched.push(await client.promptPreviews(job, p));
    // what the gauge said was held is exactly what came, and the coordinator holds nothing after
    expect(held).toBe(fetched.flat().reduce((sum, c) => sum + c.png.length, 0));
    expect(await heldBytes()).toBe(0);
    for (const [p, previews] of fetched.entries()) {
      const survivors = kept.get(p) ?? [];
      expect(survivors).toHaveLength(2);
      expect(finalStep.get(p)).toBe(19);
      const winner = winners.get(p);
      expect(survivors).toContain(winner?.candidate);
      // candidates then steps ascending: all 4 at the prune step, the 2 kept at the last step
      const expected = [...[0, 1, 2, 3].map((c) => [c, 2]), ...survivors.map((c) => [c, 19])].sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0) || (a[1] ?? 0) - (b[1] ?? 0));
      expect(previews.map((c) => [c.candidate, c.step]), `prompt ${p}`).toEqual(expected);
      expect(previews).toHaveLength(6);
      for (const c of previews) {
        expect([...c.png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
        // the tiny bundle's 32 px images (20 steps: the last is 19) fit the sheet's thumbnail box as they are (never enlarged)
        expect([decodePng(c.png).width, decodePng(c.png).height]).toEqual([32, 32]);
        // the job's reward (the workers' default), as the score call saw it
        expect(Object.keys(c.scores)).toEqual(['align']);
      }
      // the winner's picture at the last step carries the very scores its result reports
      expect(previews.find((c) => c.candidate === winner?.candidate && c.step === 19)?.scores).toEqual(winner?.rewards);
    }
    // once: a second call finds none
    expect(await client.promptPreviews(job, 0)).toEqual([]);
  });

  it('rejects an unknown job with a CoordinatorCallError naming it (NOT_FOUND), an empty id with a ValidationError on `job`', async () => {
    client = TtsnapClient.connect(cluster.coordinatorAddr);
    const err = await client.promptPreviews('no-such-job', 0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CoordinatorCallError);
    expect(err).toMatchObject({ code: 5, reach: 'answered', message: "coordinator: NOT_FOUND: no job 'no-such-job'" });
    const bad = await client.promptPreviews('', 0).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    expect(bad).toMatchObject({ field: 'job', message: 'job: empty; allowed: a job id from SubmitJob' });
  });
});
