// TtsnapBudgetOverrun and TtsnapRecomputeRatioHigh against real processes (rules.test.ts proves them with promtool
// scenarios): a coordinator, two trace workers and a real Prometheus loading deploy/monitoring/alerts.yaml, all on
// loopback, scraping every second.
// - A clean best-of-N job: both alert expressions (thresholds and all, as the rule file has them) return nothing;
//   the worst job's budget ratio is at most 1 and nothing was recomputed.
// - A job of 48 candidates shared by both workers (24 each, one batch), pruned once late (four steps before the end,
//   keeping 90 %): once the last stage has begun, worker-1 is killed with SIGKILL while it holds its survivors, whose
//   scored steps
//   the ledger has charged. The coordinator recomputes them from seed on worker-0, the job ends done and over its
//   budget, and both alert expressions, unchanged, return a sample above their thresholds. (Steps a lost worker ran
//   but never scored are not charged, so a best-of-N job, scored only at the end, cannot overrun this way.)
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERTS_FILE, expandRecorded, loadRules, splitThreshold } from './promql.js';
import { answers200, freePort, httpGet, ProcGroup, promQuery, startNats, startPrometheus, waitFor } from '../support/procs.js';
import { runtimeTraceDir } from '../support/traces.js';

const TRACES = runtimeTraceDir();
/** 48 candidates: a worker holds one batch of 24 (queue factor 1), so each worker holds half of the job */
const CANDIDATES = 48;

const procs = new ProcGroup();
let promUrl = '';
let coordinator = '';
const workerMetrics: string[] = [];

const alertExpr = (name: string): string => {
  const { recording, alerts } = loadRules();
  const a = alerts.find((x) => x.alert === name);
  if (!a) throw new Error(`no alert ${name}`);
  return expandRecorded(a.expr, recording);
};
const value = async (expr: string): Promise<number> => Number((await promQuery(promUrl, expr))[0]?.value[1]);

/** A counter of one process's /metrics, read directly (no scrape delay). */
async function counter(target: string, name: string): Promise<number> {
  const body = (await httpGet(`http://${target}/metrics`))?.body ?? '';
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(body)?.[1] ?? 0);
}

interface SearchOutput {
  ledger: { denoise_steps: number };
  movement: { recomputed_steps: number; workers_lost: number; unscored_steps: number };
}

/** Runs a search (`how`: --policy bon, or a --schedule) to the end; its result. */
async function search(name: string, prompts: string, candidates: number, how: readonly string[], during?: () => Promise<void>): Promise<SearchOutput> {
  const p = procs.ttsnap(name, ['search', '--coordinator', coordinator, '--json', ...how, '--prompts', prompts, '--candidates', String(candidates), '--seed', '1']);
  await during?.();
  const code = await p.exited;
  if (code !== 0) throw new Error(`${name} exited ${code}\n${procs.diagnose()}`);
  const out = p.output().slice(p.output().indexOf('{'));
  return JSON.parse(out) as SearchOutput;
}

/** Waits until every target was scraped twice after now, so counters Prometheus holds are final. */
async function scrapedAfterNow(): Promise<void> {
  const now = Date.now() / 1000;
  await waitFor('two scrapes after now', async () => (Number((await promQuery(promUrl, 'min(timestamp(up{job="ttsnap-coordinator"}))'))[0]?.value[1]) > now + 2 ? true : undefined), 20_000);
}

beforeAll(async () => {
  const tmp = procs.tempDir('ttsnap-recompute-');
  try {
    const nats = await startNats(join(tmp, 'nats'));
    procs.add(nats.proc);
    const [grpc, metrics] = [await freePort(), await freePort()];
    coordinator = `127.0.0.1:${grpc}`;
    procs.ttsnap('coordinator', ['coordinator', '--listen', coordinator, '--nats', nats.url, '--metrics-port', String(metrics), '--queue-factor', '1']);
    await waitFor('coordinator /metrics', () => answers200(`http://127.0.0.1:${metrics}/metrics`), 20_000);
    for (let i = 0; i < 2; i++) {
      const [wg, wm] = [await freePort(), await freePort()];
      workerMetrics.push(`127.0.0.1:${wm}`);
      // one batch of up to 24 candidates, 800 ms a step: the last stage (3 steps after the first) leaves over 2 s to
      // kill worker-1 before it finishes its survivors, even on a loaded machine
      procs.ttsnap(`worker-${i}`, [
        'worker', '--listen', `127.0.0.1:${wg}`, '--coordinator', coordinator, '--nats', nats.url, '--id', `ttsnap-worker-${i}`, '--metrics-port', String(wm),
        '--backend', 'trace', '--base', join(TRACES, 'flux_pic_base.npy'), '--narf', join(TRACES, 'flux_pic_narf.npy'), '--step-ms', '800', '--reward-ms', '5', '--max-batch', '24',
      ]);
      await waitFor(`worker-${i} /metrics`, () => answers200(`http://127.0.0.1:${wm}/metrics`), 20_000);
    }
    const prom = await startPrometheus(
      join(tmp, 'prometheus'),
      [
        { job: 'ttsnap-coordinator', targets: [`127.0.0.1:${metrics}`], pods: ['ttsnap-coordinator-0'] },
        { job: 'ttsnap-worker', targets: workerMetrics, pods: ['ttsnap-worker-0', 'ttsnap-worker-1'] },
      ],
      [ALERTS_FILE],
    );
    procs.add(prom.proc);
    promUrl = prom.url;
    await waitFor('two workers registered, every target scraped', async () => ((await value('sum(ttsnap_workers{state="ready"})')) === 2 && (await value('sum(up)')) === 3 ? true : undefined), 45_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${procs.diagnose()}`);
  }
}, 120_000);

afterAll(() => procs.stopAll());

describe('budget overrun and recompute ratio alerts against real processes', () => {
  let stepsPerCandidate = 0;

  it('a clean job: both alert expressions stay empty, the budget ratio is at most 1, nothing recomputed', async () => {
    stepsPerCandidate = (await search('clean', '0:1', 2, ['--policy', 'bon'])).ledger.denoise_steps / 2;
    await scrapedAfterNow();
    expect(await promQuery(promUrl, alertExpr('TtsnapBudgetOverrun'))).toEqual([]);
    expect(await promQuery(promUrl, alertExpr('TtsnapRecomputeRatioHigh'))).toEqual([]);
    const budget = await value(splitThreshold(alertExpr('TtsnapBudgetOverrun')).value);
    expect(budget).toBeGreaterThan(0.5);
    expect(budget).toBeLessThanOrEqual(1 + 1e-9);
    expect(await value(splitThreshold(alertExpr('TtsnapRecomputeRatioHigh')).value)).toBe(0);
    expect(stepsPerCandidate).toBeGreaterThanOrEqual(8);
  }, 120_000);

  it('a worker killed while holding candidates: the job ends over budget and both alert expressions return a sample', async () => {
    const S = stepsPerCandidate;
    const prune = S - 4;
    // steps of the first stage (every candidate up to the prune step), plus the clean job's, run before
    const firstStage = CANDIDATES * (prune + 1) + 2 * S;
    let killedAt = { worker0: 0, worker1: 0 };
    const result = await search('faulty', '1:2', CANDIDATES, ['--schedule', `${prune}:0.9`], async () => {
      // a step beyond the first stage means every first-stage score was accepted and charged: kill worker-1 there
      killedAt = await waitFor('the last stage begun', async () => {
        const [w0 = 0, w1 = 0] = await Promise.all(workerMetrics.map((t) => counter(t, 'ttsnap_worker_denoise_steps_total')));
        return w0 + w1 > firstStage && w1 > 0 ? { worker0: w0, worker1: w1 } : undefined;
      }, 90_000, 50);
      const victim = procs.get('worker-1');
      victim?.child.kill('SIGKILL');
      await victim?.exited;
    });
    await scrapedAfterNow();
    const recomputed = await value('sum(ttsnap_recomputed_steps_total)');
    const context = `killed at ${JSON.stringify(killedAt)}, first stage ${firstStage}, result ${JSON.stringify(result.movement)}, ledger ${result.ledger.denoise_steps}`;
    // worker-1's survivors ran again from seed on worker-0: the steps they had been charged for, once more
    expect(result.movement.workers_lost, context).toBe(1);
    expect(recomputed, context).toBe(result.movement.recomputed_steps);
    expect(recomputed, context).toBeGreaterThanOrEqual(prune + 1);
    // what worker-1 was asked to run and never scored is counted apart from the ledger, as the result says
    expect(await value('sum(ttsnap_unscored_steps_total)'), context).toBe(result.movement.unscored_steps);
    const overrun = await promQuery(promUrl, alertExpr('TtsnapBudgetOverrun'));
    const ratio = await promQuery(promUrl, alertExpr('TtsnapRecomputeRatioHigh'));
    expect(overrun.length, context).toBe(1);
    expect(Number(overrun[0]?.value[1])).toBeGreaterThan(1.05);
    expect(ratio.length, `${context}, recompute ratio ${await value(splitThreshold(alertExpr('TtsnapRecomputeRatioHigh')).value)}`).toBe(1);
    expect(Number(ratio[0]?.value[1])).toBeGreaterThan(0.2);
  }, 150_000);
});
