// The alerts whose signal comes from ttsnap's own processes, raised by real faults in real processes scraped by a
// real Prometheus (every second):
// - a stuck job among running ones: worker-1 reaches the coordinator over gRPC but publishes its scores to another
//   NATS server (a partition between one worker and the bus), so job A's candidates there never score while job B,
//   placed on worker-0 alone (worker-1's slots stay full of A), progresses. TtsnapJobStalled's expression (its
//   threshold lowered from 900 s to 5 s, the rest unchanged) returns the stall while scores are flowing, which the
//   old rule (no score at all in the window) cannot see;
// - the coordinator's NATS has no JetStream: TtsnapJetStreamUnhealthy and TtsnapResultStoreFailing (the store never
//   opened) return their samples;
// - the coordinator process is killed and started again on the same ports: TtsnapCoordinatorRestarted returns a sample.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERTS_FILE, expandRecorded, loadRules, splitThreshold } from './promql.js';
import { answers200, freePort, ProcGroup, promQuery, startNats, startPrometheus, TRACES, waitFor } from '../support/procs.js';

const HAVE_TRACES = existsSync(join(TRACES, 'flux_pic_base.npy'));
if (!HAVE_TRACES) console.warn(`faults.integration: skipped, no reward traces at ${TRACES} (put the shared traces beside the repository)`);

const procs = new ProcGroup();
let promUrl = '';
let coordinatorArgs: string[] = [];
const value = async (expr: string) => Number((await promQuery(promUrl, expr))[0]?.value[1]);
const alertExpr = (name: string): string => {
  const { recording, alerts } = loadRules();
  const a = alerts.find((x) => x.alert === name);
  if (!a) throw new Error(`no alert ${name}`);
  return expandRecorded(a.expr, recording);
};
const search = (coordinator: string, what: string[]) =>
  ['search', '--coordinator', coordinator, '--json', '--schedule', '2:0.4,6:0.4,11:0.5', '--seed', '1', ...what];

beforeAll(async () => {
  if (!HAVE_TRACES) return;
  const tmp = procs.tempDir('ttsnap-faults-');
  try {
    // the coordinator's NATS has no JetStream; worker-1's scores go to a NATS of their own
    const bus = await startNats(join(tmp, 'nats-a'), { jetstream: false, name: 'nats-a' });
    procs.add(bus.proc);
    const elsewhere = await startNats(join(tmp, 'nats-b'), { name: 'nats-b' });
    procs.add(elsewhere.proc);
    const [grpc, metrics] = [await freePort(), await freePort()];
    const coordinator = `127.0.0.1:${grpc}`;
    coordinatorArgs = ['coordinator', '--listen', coordinator, '--nats', bus.url, '--metrics-port', String(metrics)];
    procs.ttsnap('coordinator', coordinatorArgs);
    await waitFor('coordinator /metrics', () => answers200(`http://127.0.0.1:${metrics}/metrics`), 20_000);
    for (const [i, nats] of [bus.url, elsewhere.url].entries()) {
      const [wg, wm] = [await freePort(), await freePort()];
      procs.ttsnap(`worker-${i}`, [
        'worker', '--listen', `127.0.0.1:${wg}`, '--coordinator', coordinator, '--nats', nats, '--id', `ttsnap-worker-${i}`, '--metrics-port', String(wm),
        '--backend', 'trace', '--base', join(TRACES, 'flux_pic_base.npy'), '--narf', join(TRACES, 'flux_pic_narf.npy'),
        '--step-ms', '50', '--reward-ms', '5', '--max-batch', '8',
      ]);
      await waitFor(`worker-${i} /metrics`, () => answers200(`http://127.0.0.1:${wm}/metrics`), 20_000);
    }
    const prom = await startPrometheus(join(tmp, 'prometheus'), [{ job: 'ttsnap-coordinator', targets: [`127.0.0.1:${metrics}`], pods: ['ttsnap-coordinator-0'] }], [ALERTS_FILE]);
    procs.add(prom.proc);
    promUrl = prom.url;
    await waitFor('two workers registered, scraped', async () => ((await value('sum(ttsnap_workers{state="ready"})')) === 2 ? true : undefined), 45_000);

    // job A: one prompt, 100 candidates; worker-1 takes its fill (24) and never scores them
    procs.ttsnap('search-a', search(coordinator, ['--prompts', '0:1', '--candidates', '100']));
    await waitFor('job A running with scores from worker-0', async () => ((await value('sum(ttsnap_score_latency_seconds_count)')) > 0 ? true : undefined), 30_000);
    // job B: four prompts that only worker-0 serves, about 15 s of work at 50 ms per step
    procs.ttsnap('search-b', search(coordinator, ['--prompts', '1:5', '--candidates', '100']));
    await waitFor('two jobs running', async () => ((await value('sum(ttsnap_jobs{state="running"})')) === 2 ? true : undefined), 15_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${procs.diagnose()}`);
  }
}, 180_000);

afterAll(() => procs.stopAll());

describe.skipIf(!HAVE_TRACES)('alerts raised by real faults in real processes', () => {
  it('a job stuck among running ones raises TtsnapJobStalled while scores still flow', async () => {
    const { value: stalled } = splitThreshold(alertExpr('TtsnapJobStalled'));
    const fired = await waitFor('the stall expression (threshold 5 s) while job B scores', async () => {
      const [stall] = await promQuery(promUrl, `${stalled} > 5`);
      const flowing = await value('sum(increase(ttsnap_score_latency_seconds_count[5s]))');
      const running = await value('sum(ttsnap_jobs{state="running"})');
      return stall && flowing > 0 && running === 2 ? { stall: Number(stall.value[1]), flowing } : undefined;
    }, 30_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${procs.diagnose()}`);
    });
    expect(fired.stall).toBeGreaterThan(5);
    expect(fired.flowing).toBeGreaterThan(0);
    // the old rule: jobs running and no score at all in the window; with job B scoring it stays at 0
    expect(await value('sum(ttsnap_jobs{state="running"}) * on() (sum(increase(ttsnap_score_latency_seconds_count[10s])) == bool 0)')).toBe(0);
    // job B finishes on worker-0 alone: its client exits 0 while A is still stuck
    const b = procs.get('search-b');
    expect(await b?.exited).toBe(0);
    expect(procs.get('search-a')?.running).toBe(true);
  }, 90_000);

  it('a NATS without JetStream raises TtsnapJetStreamUnhealthy and TtsnapResultStoreFailing', async () => {
    const unhealthy = await promQuery(promUrl, alertExpr('TtsnapJetStreamUnhealthy'));
    expect(unhealthy.map((s) => s.value[1])).toEqual(['0']);
    const store = await promQuery(promUrl, alertExpr('TtsnapResultStoreFailing'));
    expect(store.map((s) => s.value[1])).toEqual(['1']);
  });

  it('a coordinator killed and started again raises TtsnapCoordinatorRestarted', async () => {
    const expr = alertExpr('TtsnapCoordinatorRestarted');
    expect(await promQuery(promUrl, expr)).toEqual([]);
    const old = procs.get('coordinator');
    old?.child.kill('SIGKILL');
    await old?.exited;
    procs.ttsnap('coordinator-2', coordinatorArgs);
    const fired = await waitFor('TtsnapCoordinatorRestarted', async () => {
      const r = await promQuery(promUrl, expr);
      return r.length > 0 ? r : undefined;
    }, 30_000);
    expect(fired.map((s) => s.value[1])).toEqual(['1']);
  }, 60_000);
});
