// `ttsnap collect --coordinator`: the same collection as the embedded one, run by a coordinator process on two ONNX
// worker processes (tiny bundle) over a real nats-server, must write the same bytes; the collected final base
// reward is what `search --coordinator --policy bon` picks; a rerun resumes through the coordinator. Both save the
// Tweedie images at two steps (--save-tweedie): the workers stream them back in pieces, the same files come out.
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../core/trace/npy.js';
import { runCli, startCli } from '../support/procs.js';
import { TestCluster } from '../integration/runtime/cluster.js';

const PROMPTS = ['a red circle', 'a blue square above a green triangle', 'a yellow triangle left of a red square'];
const SEEDS = 6;
const TWEEDIE_FILES = ['tweedie/p00000.npy', 'tweedie/p00001.npy', 'tweedie/p00002.npy'];
const TRACE_FILES = ['align_base.npy', 'align_narf.npy', 'quality_base.npy', 'quality_narf.npy', 'meta.json', 'collect.json', ...TWEEDIE_FILES];

describe('ttsnap collect --coordinator (coordinator, 2 ONNX workers, nats-server)', () => {
  const cluster = new TestCluster();
  const dir = mkdtempSync(join(tmpdir(), 'ttsnap-collect-coord-'));
  const file = join(dir, 'prompts.txt');
  const args = (out: string, extra: string[] = []): string[] => ['collect', '--prompts-file', file, '--seeds', String(SEEDS), '--seed', '7', '--out', out, '--save-tweedie', '2,19', '--json', ...extra];
  let remote: { code: number | null; stdout: string; stderr: string } = { code: -1, stdout: '', stderr: '' };

  beforeAll(async () => {
    writeFileSync(file, `${PROMPTS.join('\n')}\n`);
    await cluster.startNats();
    await cluster.startCoordinator();
    // max batch 4 against 6 candidates: each prompt is cut into two batches, which the two workers share
    for (const id of ['w1', 'w2']) {
      const p = startCli(id, ['worker', '--backend', 'onnx', '--max-batch', '4', '--listen', '127.0.0.1:0', '--coordinator', cluster.coordinatorAddr, '--nats', cluster.natsUrl, '--nats-prefix', cluster.prefix, '--id', id]);
      cluster.procs.push(p);
      await p.waitForStderr(/"msg":"worker serving"/);
    }
    await cluster.waitForWorkers(2);
    remote = await runCli(args(join(dir, 'remote'), ['--coordinator', cluster.coordinatorAddr]));
  }, 180_000);
  afterAll(async () => {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes exactly the bytes the embedded collect writes for the same prompts and seeds', async () => {
    expect(remote.code, remote.stderr).toBe(0);
    expect(JSON.parse(remote.stdout)).toMatchObject({ prompts: 3, skipped: 0, candidates: 18, ledger: { denoise_steps: 3 * SEEDS * 20 } });
    const local = await runCli(args(join(dir, 'local')));
    expect(local.code, local.stderr).toBe(0);
    for (const f of TRACE_FILES) expect(readFileSync(join(dir, 'remote', f)).equals(readFileSync(join(dir, 'local', f))), f).toBe(true);
    const narf = readNpy(join(dir, 'remote', 'align_narf.npy'));
    expect(narf.shape).toEqual([3, SEEDS, 20]);
    // [candidate, saved step, 3 x 32 x 32], every candidate's images decoded (not left as the zeros of a missed piece)
    const tweedie = readNpy(join(dir, 'remote', 'tweedie', 'p00002.npy'));
    expect(tweedie.shape).toEqual([SEEDS, 2, 3 * 32 * 32]);
    for (let k = 0; k < SEEDS * 2; k++) expect(tweedie.data.subarray(k * 3072, (k + 1) * 3072).some((v) => v !== 0), `image ${k}`).toBe(true);
    expect(readdirSync(join(dir, 'remote', 'tweedie')).sort()).toEqual(['p00000.npy', 'p00001.npy', 'p00002.npy']);
  }, 120_000);

  it('the collected final base reward is what `search --coordinator --policy bon` reports for the same seed', async () => {
    const align = readNpy(join(dir, 'remote', 'align_base.npy'));
    const search = await runCli(['search', ...PROMPTS, '--coordinator', cluster.coordinatorAddr, '--policy', 'bon', '--candidates', String(SEEDS), '--seed', '7', '--json', '--out', join(dir, 'search')]);
    expect(search.code, search.stderr).toBe(0);
    const doc = JSON.parse(search.stdout) as { prompts: { winner: { candidate: number; rewards: Record<string, number> } }[] };
    doc.prompts.forEach((p, position) => {
      const finals = Array.from({ length: SEEDS }, (_, i) => align.data[(position * SEEDS + i) * 20 + 19] as number);
      expect(Math.fround(p.winner.rewards.align as number)).toBe(Math.max(...finals));
      expect(p.winner.candidate).toBe(finals.indexOf(Math.max(...finals)));
    });
  }, 120_000);

  it('a rerun through the coordinator asks only for the prompts the folder lacks, shows progress, and writes the same files', async () => {
    const out = join(dir, 'remote');
    const before = TRACE_FILES.map((f) => readFileSync(join(out, f)));
    unlinkSync(join(out, 'parts', readdirSync(join(out, 'parts')).sort()[1] as string));
    unlinkSync(join(out, TWEEDIE_FILES[1] as string));
    const again = await runCli(args(out, ['--coordinator', cluster.coordinatorAddr]).filter((a) => a !== '--json'));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^collected 3 prompts x 6 candidates x 20 steps \(2 from an earlier run\) in [\d.]+ s: [\d.]+ candidates\/s, /);
    expect(again.stderr).toMatch(/^collect: 3\/3 prompts, [\d.]+ candidates\/s, [\d.e+-]+ cost units\/s, \d+ s left$/m);
    TRACE_FILES.forEach((f, i) => expect(readFileSync(join(out, f)).equals(before[i] as Buffer), f).toBe(true));
  }, 120_000);

  it('bad input is refused naming the flag', async () => {
    const bad = await runCli(args(join(dir, 'bad'), ['--coordinator', cluster.coordinatorAddr, '--rewards', 'nope']));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--rewards: unknown reward 'nope'; allowed: align \| quality/);
    const tweedie = await runCli([...args(join(dir, 'bad'), ['--coordinator', cluster.coordinatorAddr]), '--save-tweedie', '20']);
    expect(tweedie.code).toBe(2);
    expect(tweedie.stderr).toMatch(/--save-tweedie: .*20/);
  }, 60_000);
});
