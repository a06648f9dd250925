import { afterEach, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE, survivorCounts } from '../../../core/engine/schedule.js';
import { METRICS } from '../../../core/metrics/catalog.js';
import { serveMetrics, type MetricsServer } from '../../../core/metrics/server.js';
import { PromMetricsSink } from '../../../core/metrics/sink.js';
import { startEmbedded, type EmbeddedCluster } from '../../../process/embedded.js';
import { BASE, NARF } from '../../integration/runtime/engine-alone.js';

/** The metrics of an exposition text, by its TYPE lines. */
async function exported(sink: PromMetricsSink): Promise<string[]> {
  return (await sink.render()).body.split('\n').flatMap((l) => (l.startsWith('# TYPE ') ? [l.split(' ')[2] as string] : [])).sort();
}

/** The value of one sample line `name{labels} value` in the exposition text (`absent` when there is none). */
function sample(text: string, name: string, labels = '', absent = 0): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').at(-1)) : absent;
}

describe('metrics', () => {
  let cluster: EmbeddedCluster | undefined;
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await cluster?.close();
    await server?.close();
    cluster = undefined;
    server = undefined;
  });

  it('each process exports exactly its catalog metrics, prefixed ttsnap_, beside the process metrics', async () => {
    for (const proc of ['coordinator', 'worker'] as const) {
      const names = await exported(new PromMetricsSink(proc));
      expect(names.filter((n) => n.startsWith('ttsnap_'))).toEqual(Object.values(METRICS).filter((m) => m.process === proc).map((m) => m.name).sort());
      expect(names.filter((n) => !n.startsWith('ttsnap_')).every((n) => n.startsWith('process_') || n.startsWith('nodejs_'))).toBe(true);
      for (const n of ['process_start_time_seconds', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_gc_duration_seconds']) expect(names).toContain(n);
      expect((await exported(new PromMetricsSink(proc, { processMetrics: false }))).every((n) => n.startsWith('ttsnap_'))).toBe(true);
    }
  });

  it('series with known label values exist at 0 before the first event', async () => {
    const text = (await new PromMetricsSink('coordinator', { processMetrics: false }).render()).body;
    for (const op of ['open', 'put', 'get']) expect(sample(text, 'ttsnap_result_store_errors_total', `op="${op}"`, -1)).toBe(0);
    expect(sample(text, 'ttsnap_jobs_completed_total', 'state="failed"', -1)).toBe(0);
  });

  it('counts what a job did, served on /metrics', async () => {
    const coord = new PromMetricsSink('coordinator');
    const work = new PromMetricsSink('worker');
    cluster = await startEmbedded({ backend: 'trace', backendOptions: { base: BASE, narf: NARF, maxBatch: '4' }, workers: 2, metrics: coord, workerMetrics: work });
    const job = cluster.coordinator.submit({ prompts: [0, 1, 2, 3], candidates: 30, schedule: [...PAPER_SCHEDULE], seed: 1 });
    await cluster.coordinator.whenEnded(job.id);
    server = await serveMetrics(coord, 0, '127.0.0.1');
    const text = await fetch(`http://127.0.0.1:${server.port}/metrics`).then((r) => r.text());
    const alive = survivorCounts(30, PAPER_SCHEDULE);
    const ledger = job.ledger();
    expect(sample(text, 'ttsnap_candidates_explored_total')).toBe(4 * 30);
    expect(sample(text, 'ttsnap_candidates_pruned_total')).toBe(4 * (30 - (alive.at(-1) as number)));
    expect(sample(text, 'ttsnap_candidates_finished_total')).toBe(4 * (alive.at(-1) as number));
    expect(sample(text, 'ttsnap_jobs_completed_total', 'state="done"')).toBe(1);
    const spent = sample(text, 'ttsnap_budget_spent_total', 'kind="denoise"') + sample(text, 'ttsnap_budget_spent_total', 'kind="reward"');
    expect(spent).toBeCloseTo(ledger.cost, 6);
    const allocated = sample(text, 'ttsnap_budget_allocated_total', 'kind="denoise"') + sample(text, 'ttsnap_budget_allocated_total', 'kind="reward"');
    expect(allocated).toBeCloseTo(ledger.cost, 6);
    const wtext = (await work.render()).body;
    expect(sample(wtext, 'ttsnap_worker_denoise_steps_total')).toBe(ledger.denoise_steps);
    expect(sample(wtext, 'ttsnap_worker_reward_calls_total', 'reward="pic"')).toBe(ledger.reward_calls.pic);
    expect(sample(wtext, 'ttsnap_worker_scores_published_total')).toBe(ledger.reward_calls.pic);
  });
});
