import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE, formatSchedule } from '../../../core/engine/schedule.js';
import { BASE, NARF, engineAlone } from './engine-alone.js';
import { TestCluster } from './cluster.js';
import { enginePicks, engineTotal, picks, searchCli } from './search-cli.js';

// One trace, prompts, candidates and schedule, three ways: the engine alone, the embedded mode and the
// distributed mode (a coordinator and 3 worker processes over gRPC, scores through a real nats-server).
const PROMPTS: [number, number] = [10, 16];
const N = 40;
const SEED = 5;
const COMMON = ['--prompts', `${PROMPTS[0]}:${PROMPTS[1]}`, '--candidates', String(N), '--schedule', formatSchedule(PAPER_SCHEDULE), '--seed', String(SEED)];
const expected = engineAlone(Array.from({ length: PROMPTS[1] - PROMPTS[0] }, (_, i) => PROMPTS[0] + i), N, PAPER_SCHEDULE, SEED);

describe('equivalence: engine alone = embedded = distributed', () => {
  const cluster = new TestCluster();
  beforeAll(async () => {
    await cluster.startAll(['w1', 'w2', 'w3'], 2, 4);
  });
  afterAll(() => cluster.close());

  it('the embedded mode picks the engine-alone winners with the same ledger', async () => {
    const { doc } = await searchCli([...COMMON, '--base', BASE, '--narf', NARF, '--workers', '2', '--max-batch', '4']);
    expect(picks(doc)).toEqual(enginePicks(expected));
    expect(doc.ledger).toEqual(engineTotal(expected));
    expect(doc.movement.recomputed_steps).toBe(0);
  });

  it('the distributed mode (3 worker processes, nats-server) picks the same winners with the same ledger', async () => {
    const { doc } = await searchCli([...COMMON, '--coordinator', cluster.coordinatorAddr]);
    expect(picks(doc)).toEqual(enginePicks(expected));
    expect(doc.ledger).toEqual(engineTotal(expected));
    // every worker took part, and the busy time is reported per worker
    expect(Object.keys(doc.timeline.worker_busy_s).sort()).toEqual(['w1', 'w2', 'w3']);
    expect(doc.movement).toMatchObject({ recomputed_steps: 0, workers_lost: 0 });
  });
});
