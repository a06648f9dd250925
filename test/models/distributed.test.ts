import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startEmbedded } from '../../process/embedded.js';
import { resultJson } from '../../coordinator/result.js';
import { CLI } from '../support/procs.js';
import { onnxClusterForSuite } from './onnx-cluster.js';
import { PROMPT, TINY } from './helpers.js';

const run = promisify(execFile);

interface Doc {
  prompts: { winner: { candidate: number; seed: number; rewards: Record<string, number> }; explored: number[]; ledger: unknown; settings?: unknown }[];
}

/** One prompt of a search run embedded on workers started with `flags` (backend options), as JSON. */
async function embeddedSearch(texts: string[], flags: Record<string, string>, req: { candidates: number; seed: number; policy: string; schedule: { step: number; alpha: number }[] }): Promise<Doc> {
  const local = await startEmbedded({ backend: 'onnx', backendOptions: { model: TINY, provider: 'cpu', threads: '1', maxBatch: '8', ...flags } });
  try {
    const job = local.coordinator.submit({ texts, ...req });
    await local.coordinator.whenEnded(job.id);
    return resultJson(local.coordinator.result(job.id), 0) as unknown as Doc;
  } finally {
    await local.close();
  }
}

describe('real models across processes: 2 onnx workers over gRPC and NATS pick what the embedded mode picks', () => {
  const cluster = onnxClusterForSuite();

  it('same winner, seed, rewards and ledger', { timeout: 120_000 }, async () => {
    const args = [PROMPT, '--candidates', '10', '--seed', '11', '--schedule', '2:0.4,6:0.5', '--json'];
    const { stdout } = await run(process.execPath, [CLI, 'search', '--coordinator', cluster.coordinatorAddr, ...args]);
    const remote = JSON.parse(stdout) as Doc;
    const local = await startEmbedded({ backend: 'onnx', backendOptions: { model: TINY, provider: 'cpu', threads: '1', maxBatch: '8' } });
    try {
      const job = local.coordinator.submit({ texts: [PROMPT], candidates: 10, seed: 11, schedule: [{ step: 2, alpha: 0.4 }, { step: 6, alpha: 0.5 }] });
      await local.coordinator.whenEnded(job.id);
      const embedded = resultJson(local.coordinator.result(job.id), 0) as unknown as Doc;
      const [r, e] = [remote.prompts[0], embedded.prompts[0]];
      expect(r?.winner.candidate).toBe(e?.winner.candidate);
      expect(r?.winner.seed).toBe(e?.winner.seed);
      expect(r?.winner.rewards.align).toBeCloseTo(e?.winner.rewards.align as number, 5);
      expect(r?.explored).toEqual(e?.explored);
      expect(r?.ledger).toEqual(e?.ledger);
    } finally {
      await local.close();
    }
  });

  it('per-prompt guidance, steps and negative prompt from a JSONL file travel with the candidates over gRPC: each prompt picks what workers started with those flags pick', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ttsnap-sampling-'));
    try {
      const other = 'a green triangle left of a red square';
      const file = join(dir, 'prompts.jsonl');
      writeFileSync(file, `${JSON.stringify({ text: PROMPT })}\n${JSON.stringify({ text: other, guidance: 7, steps: 40, negative_prompt: 'a blurry grey blob' })}\n`);
      // ttsp: base reward at the prune points, so that 20 and 40 steps share one schedule
      const req = { candidates: 8, seed: 3, policy: 'ttsp', schedule: [{ step: 2, alpha: 0.5 }, { step: 6, alpha: 0.5 }] };
      const { stdout } = await run(process.execPath, [CLI, 'search', '--coordinator', cluster.coordinatorAddr, '--prompts-file', file, '--candidates', '8', '--seed', '3', '--policy', 'ttsp', '--schedule', '2:0.5,6:0.5', '--json']);
      const remote = JSON.parse(stdout) as Doc;
      const plain = await embeddedSearch([PROMPT, other], {}, req);
      const flagged = await embeddedSearch([PROMPT, other], { guidance: '7', steps: '40', negativePrompt: 'a blurry grey blob' }, req);
      const same = (a: Doc['prompts'][number] | undefined, b: Doc['prompts'][number] | undefined): void => {
        expect(a?.winner.candidate).toBe(b?.winner.candidate);
        expect(a?.winner.rewards.align).toBeCloseTo(b?.winner.rewards.align as number, 5);
        expect(a?.explored).toEqual(b?.explored);
        expect(a?.ledger).toEqual(b?.ledger);
      };
      same(remote.prompts[0], plain.prompts[0]);
      same(remote.prompts[1], flagged.prompts[1]);
      // the settings changed the second prompt's outcome, and its result records them
      expect(remote.prompts[1]?.winner.rewards.align).not.toBeCloseTo(plain.prompts[1]?.winner.rewards.align as number, 5);
      expect(remote.prompts[1]?.settings).toMatchObject({ guidance: 7, steps: 40, negative_prompt: 'a blurry grey blob' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
