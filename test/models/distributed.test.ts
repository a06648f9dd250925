import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbedded } from '../../process/embedded.js';
import { resultJson } from '../../coordinator/result.js';
import { CLI } from '../support/procs.js';
import { TestCluster } from '../integration/runtime/cluster.js';
import { PROMPT, TINY } from './helpers.js';

const run = promisify(execFile);
const ONNX = ['--backend', 'onnx', '--model', TINY, '--provider', 'cpu', '--threads', '1'];

interface Doc {
  prompts: { winner: { candidate: number; seed: number; rewards: Record<string, number> }; explored: number[]; ledger: unknown }[];
}

describe('real models across processes: 2 onnx workers over gRPC and NATS pick what the embedded mode picks', () => {
  const cluster = new TestCluster();
  beforeAll(async () => {
    await cluster.startNats();
    await cluster.startCoordinator();
    // the harness starts trace workers; the later --backend wins, and the trace flags are ignored by onnx
    await cluster.startWorker('w1', 0, 4, ONNX);
    await cluster.startWorker('w2', 0, 4, ONNX);
    await cluster.waitForWorkers(2);
  }, 90_000);
  afterAll(() => cluster.close());

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
});
