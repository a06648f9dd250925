import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE, formatSchedule } from '../../../core/engine/schedule.js';
import { startCli, type Proc } from '../../support/procs.js';
import { TestCluster } from './cluster.js';
import { engineAlone } from './engine-alone.js';
import { enginePicks, engineTotal, picks, type SearchDoc } from './search-cli.js';

// kill -9 of the coordinator in the middle of a job; a new one starts on the same address and NATS. The search
// client, started before the crash, reconnects, follows the job the new coordinator resumed from the JetStream
// journal, and prints the winners of an uninterrupted run. The workers report what they hold when they register
// with the new coordinator: survivors they still hold are kept, not recomputed; the ledger shows what was.
const PROMPTS = Array.from({ length: 12 }, (_, i) => 40 + i);
const N = 40;
const SEED = 13;

describe('coordinator kill -9 mid-job, restarted on the same address and NATS', () => {
  const cluster = new TestCluster();
  let coordinator: Proc;
  beforeAll(async () => {
    ({ coordinator } = await cluster.startAll(['w1', 'w2', 'w3'], 10, 4));
  });
  afterAll(() => cluster.close());

  it('the search client prints the same winners as an uninterrupted run', async () => {
    const expected = engineAlone(PROMPTS, N, PAPER_SCHEDULE, SEED);
    const search = startCli('search', [
      'search', '--coordinator', cluster.coordinatorAddr, '--prompts', `${PROMPTS[0]}:${(PROMPTS.at(-1) as number) + 1}`, '--candidates', String(N),
      '--schedule', formatSchedule(PAPER_SCHEDULE), '--seed', String(SEED), '--json', '--reconnect-timeout-s', '60',
    ]);
    let stdout = '';
    search.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    const done = await cluster.waitForPromptsDone(3);
    coordinator.child.kill('SIGKILL');
    expect(await coordinator.exited).toBe('SIGKILL');
    coordinator = await cluster.startCoordinator([], cluster.coordinatorAddr);
    expect(coordinator.stderr).toMatch(/resuming 1 running job\(s\) from the journal/);

    expect(await search.exited).toBe(0);
    expect(done).toBeLessThan(PROMPTS.length);
    expect(search.stderr.match(/lost the coordinator/g)).toHaveLength(1);
    const doc = JSON.parse(stdout) as SearchDoc;
    expect(picks(doc).map((p) => [p.prompt, p.winner, p.explored])).toEqual(enginePicks(expected).map((p) => [p.prompt, p.winner, p.explored]));
    // The workers kept their candidates through the crash and said so when they registered again: the new
    // coordinator kept those its resumed job could use (no recomputation) and released the rest. What it could
    // not keep (a stage record the crash cut off before it reached JetStream) was recomputed from seed, and the
    // ledger counts exactly that work. Before workers reported their holdings every survivor was recomputed
    // (recomputed_steps 90 to 168 over 3 runs); now 0 to 42 over 4 runs.
    const adopted = [...coordinator.stderr.matchAll(/"adopted":(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(adopted).toBeGreaterThan(0);
    const planned = engineTotal(expected);
    expect(doc.movement.recomputed_steps).toBe(doc.ledger.denoise_steps - planned.denoise_steps);
  }, 120_000);
});
