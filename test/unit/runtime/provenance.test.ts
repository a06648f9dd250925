// Every result records what produced it: the request as compiled, the backend, its provider and files'
// fingerprint, and the ttsnap version (`ttsnap --version` prints the same).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSyntheticPair } from '../../../bench/trace-pair.js';
import { resultJson } from '../../../coordinator/result.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { startEmbedded } from '../../../process/embedded.js';
import { runCli } from '../../support/procs.js';

const version = (JSON.parse(readFileSync(join(import.meta.dirname, '../../../package.json'), 'utf8')) as { version: string }).version;
const dir = mkdtempSync(join(tmpdir(), 'ttsnap-prov-'));

async function provenance(seed: number) {
  const { base, narf } = writeSyntheticPair(dir, 6, 32, seed);
  const cluster = await startEmbedded({ backend: 'trace', backendOptions: { base, narf, maxBatch: '8', stepMs: '0' } });
  try {
    const job = cluster.coordinator.submit({ prompts: [0, 1], candidates: 12, seed: 4, top_k: 2, schedule: [...PAPER_SCHEDULE], prompt_settings: [{ sampling: { guidance: 7 } }, {}], sampling: { negative_prompt: 'blurry', steps: 20 } });
    await cluster.coordinator.whenEnded(job.id);
    return resultJson(cluster.coordinator.result(job.id), 2).provenance;
  } finally {
    await cluster.close();
  }
}

describe('provenance', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('records the request, the backend, its provider and fingerprint, and the version', async () => {
    const p = await provenance(1);
    expect(p).toEqual({
      version,
      backend: 'trace',
      model: 'synthetic',
      bundle_fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
      provider: 'simulated',
      candidates_per_prompt: 12,
      schedule: PAPER_SCHEDULE.map((s) => ({ step: s.step, alpha: s.alpha })),
      seed: 4,
      policy: 'ttsnap',
      rewards: ['synthetic'],
      accounting: 'exact',
      cost: expect.objectContaining({ denoise: expect.any(Number), verify: expect.any(Number) }),
      sampling: { negative_prompt: 'blurry', steps: 20 },
    });
    // other trace files, another fingerprint
    expect((await provenance(2))?.bundle_fingerprint).not.toBe(p?.bundle_fingerprint);
  });

  it('ttsnap --version prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });
});
