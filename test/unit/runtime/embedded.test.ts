import { afterEach, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { startEmbedded, type EmbeddedCluster } from '../../../process/embedded.js';
import { resultJson } from '../../../coordinator/result.js';
import { BASE, NARF, engineAlone } from '../../integration/runtime/engine-alone.js';

const PROMPTS = [0, 3, 7, 12, 50];
const N = 24;
const SEED = 11;

describe('embedded mode', () => {
  let cluster: EmbeddedCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('picks the engine-alone winners with the planned ledger, whatever the worker count', async () => {
    const expected = engineAlone(PROMPTS, N, PAPER_SCHEDULE, SEED);
    for (const workers of [1, 3]) {
      cluster = await startEmbedded({ backend: 'trace', backendOptions: { base: BASE, narf: NARF, maxBatch: '4' }, workers });
      const job = cluster.coordinator.submit({ prompts: PROMPTS, candidates: N, schedule: [...PAPER_SCHEDULE], seed: SEED });
      await cluster.coordinator.whenEnded(job.id);
      const out = resultJson(cluster.coordinator.result(job.id), 0);
      expect(job.state).toBe('done');
      expect(out.prompts.map((p) => p.prompt)).toEqual(PROMPTS);
      expect(out.prompts.map((p) => p.winner.candidate)).toEqual(expected.map((e) => e.winner));
      expect(out.prompts.map((p) => p.explored)).toEqual(expected.map((e) => e.explored));
      expect(out.prompts.map((p) => p.ledger)).toEqual(expected.map((e) => e.ledger));
      await cluster.close();
      cluster = undefined;
    }
  });
});
