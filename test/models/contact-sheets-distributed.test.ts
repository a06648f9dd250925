import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorGrpcClient } from '../../coordinator/client.js';
import { CLI } from '../support/procs.js';
import { TestCluster } from '../integration/runtime/cluster.js';
import { PROMPT, TINY } from './helpers.js';
import { onnxClusterForSuite } from './onnx-cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'ttsnap-sheets-remote-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI; resolves with its exit code and output (never rejects on a non-zero code). */
function cli(args: string[], onTick?: () => void): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const tick = onTick ? setInterval(onTick, 5) : null;
    child.on('close', (code) => {
      if (tick) clearInterval(tick);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** The prompts of results.jsonl whose contact sheet was not there when their line was (checked as the search runs). */
function sheetsBehindLines(out: string, late: Set<number>): () => void {
  return () => {
    const file = join(out, 'results.jsonl');
    if (!existsSync(file)) return;
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.endsWith('}'));
    for (const l of lines) {
      const p = (JSON.parse(l) as { prompt: number }).prompt;
      if (!existsSync(join(out, 'images', `${p}-sheet.png`))) late.add(p);
    }
  };
}

describe('search --coordinator --contact-sheets: 2 onnx worker processes over gRPC and NATS', () => {
  const cluster = onnxClusterForSuite();

  it('writes images/<prompt>-sheet.png for every prompt before its results.jsonl line, equal to the embedded search\'s', { timeout: 180_000 }, async () => {
    const file = join(dir, 'prompts.txt');
    writeFileSync(file, `${PROMPT}\na green triangle left of a red square\n${PROMPT}\n`);
    const settings = ['--prompts-file', file, '--candidates', '6', '--seed', '5', '--schedule', '2:0.5,6:0.5', '--contact-sheets', '--quiet'];
    const remoteOut = join(dir, 'remote');
    const late = new Set<number>();
    const remote = await cli(['search', '--coordinator', cluster.coordinatorAddr, ...settings, '--out', remoteOut], sheetsBehindLines(remoteOut, late));
    expect(remote.code, remote.stderr).toBe(0);
    // every picture came (a missing one is a warning line)
    expect(remote.stderr).not.toMatch(/warning/);
    const localOut = join(dir, 'local');
    const local = await cli(['search', ...settings, '--model', TINY, '--provider', 'cpu', '--threads', '1', '--max-batch', '4', '--out', localOut]);
    expect(local.code, local.stderr).toBe(0);
    expect(readFileSync(join(remoteOut, 'results.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
    expect([...late]).toEqual([]);
    for (const p of [0, 1, 2]) {
      const [r, l] = [readFileSync(join(remoteOut, 'images', `${p}-sheet.png`)), readFileSync(join(localOut, 'images', `${p}-sheet.png`))];
      expect(r.subarray(1, 4).toString()).toBe('PNG');
      // bit for bit: the workers shrink as the sheet does (a tiny image travels at its own size), PNG is lossless,
      // and a candidate's images and scores do not depend on its batch or worker
      expect(Buffer.compare(r, l), `sheet of prompt ${p}`).toBe(0);
    }
    // delivered once: the coordinator holds none of the job's previews any more
    const client = new CoordinatorGrpcClient(cluster.coordinatorAddr);
    try {
      const [job] = await client.list(1);
      for (const p of [0, 1, 2]) expect(await client.promptPreviews(job?.job ?? '', p)).toEqual([]);
    } finally {
      client.close();
    }
  });

  it('refuses --contact-sheets without --out, naming the flag (exit 2)', async () => {
    const r = await cli(['search', '--coordinator', cluster.coordinatorAddr, PROMPT, '--candidates', '2', '--contact-sheets']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').pop()).toBe('ttsnap: --contact-sheets: given without --out; allowed: with --out DIR (the sheets are written to DIR/images)');
  });
});

describe('search --coordinator --contact-sheets on trace workers', () => {
  const cluster = new TestCluster();
  beforeAll(async () => {
    await cluster.startAll(['t1'], 0);
  }, 60_000);
  afterAll(() => cluster.close());

  it('is refused by the coordinator, naming the flag and why (exit 2); no sheet written', { timeout: 60_000 }, async () => {
    const out = join(dir, 'trace');
    const r = await cli(['search', '--coordinator', cluster.coordinatorAddr, '--prompts', '0:2', '--candidates', '4', '--contact-sheets', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').pop()).toMatch(/^ttsnap: --contact-sheets: the trace workers of pool \S+ have no pictures; allowed: a pool of model \(onnx\) workers, or search without contact sheets$/);
    expect(existsSync(join(out, 'images'))).toBe(false);
  });
});
