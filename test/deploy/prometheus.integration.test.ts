// A coordinator and trace workers started with the commands of the rendered cpu-demo overlay (cluster addresses
// and paths mapped to loopback ports, ../shared/traces and certificates made here in cert-manager's Secret layout,
// so everything speaks mutual TLS with the SPIFFE identity of its role, as deployed), a real nats-server running the
// overlay's own NATS config (TLS, a user per certificate), a real Prometheus on loopback scraping them every second,
// one search through the search Job's command (with its client certificate); then:
// - `promtool check metrics` on the coordinator's and a worker's /metrics;
// - every PromQL expression of the Grafana dashboard and of the alert rules, evaluated through Prometheus' HTTP
//   API, returns data (alerts: the value expression with recording rules expanded, see promql.ts), and no alert
//   fires in this healthy run;
// - the counters Prometheus scraped agree with the search result;
// - every process serves process metrics, the coordinator and workers log JSON lines (stdout is not a TTY here),
//   and each trace worker says what it runs (ttsnap_worker_info, provider "simulated");
// - a killed worker makes TtsnapWorkerDown's expression return exactly that worker (it had been ready).
// Expressions that read kube-state-metrics or the NATS exporter are left out of the "returns data" checks: no
// cluster runs here (rules.test.ts proves those alerts with promtool scenarios).
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERTS_FILE, dashboardExprs, expandRecorded, loadRules, readsExternal, splitThreshold } from './promql.js';
import { podTemplate } from './pod-checks.js';
import { answers200, freePort, httpGet, ProcGroup, CLI, promQuery, startPrometheus, waitFor } from '../support/procs.js';
import { makeCa, secretVolume } from '../security/certs.js';
import { startRenderedNats } from './rendered-nats.js';
import { REPO, renderOverlay, type KubeObject } from './render.js';
import { runtimeTraceDir } from '../support/traces.js';

const TRACES = runtimeTraceDir(); // the paper's flux_pic, or a synthetic stand-in without ../shared
const WORKERS = 2;
const PROMPTS = 4;
const CANDIDATES = 40;

/** The part of `search --json` (issue 3's format) that the test compares with the scraped counters. */
interface SearchResult {
  prompts: { prompt: number; explored: number[]; winner: { candidate: number } }[];
  ledger: { denoise_steps: number; reward_calls: Record<string, number>; cost: number };
}

const procs = new ProcGroup();
let promUrl = '';
let coordinatorMetrics = '';
const workerMetrics: string[] = [];
let result: SearchResult;

/** `node /app/dist/cli/main.js ...` of the first container of a rendered object. */
function manifestArgv(objects: readonly KubeObject[], kind: string, name: string): string[] {
  const obj = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!obj) throw new Error(`cpu-demo renders no ${kind}/${name}`);
  const c = podTemplate(obj)?.spec?.containers[0];
  const argv = [...(c?.command ?? []), ...(c?.args ?? [])];
  if (argv[0] !== 'node' || argv[1] !== '/app/dist/cli/main.js') throw new Error(`${kind}/${name} does not run node /app/dist/cli/main.js`);
  return argv.slice(2);
}

/** The manifest's argv with cluster names replaced (exact tokens, or a path prefix) and /metrics on loopback. */
function localize(argv: readonly string[], subst: Record<string, string>, metricsPort: number): string[] {
  return argv.map((a, i) => {
    if (argv[i - 1] === '--metrics-listen') return `127.0.0.1:${metricsPort}`;
    const exact = subst[a];
    if (exact !== undefined) return exact;
    const prefix = Object.keys(subst).find((k) => k.endsWith('/') && a.startsWith(k));
    return prefix ? `${subst[prefix]}${a.slice(prefix.length)}` : a;
  });
}


beforeAll(async () => {
  const tmp = procs.tempDir('ttsnap-deploy-');
  try {
    const manifests = renderOverlay('cpu-demo');
    // cert-manager's part: a CA and one identity per process, each where its Secret (or CSI volume) would be mounted
    const ca = makeCa(tmp, 'ca');
    const identity = (name: string, role: string, id: string) => secretVolume(ca, { name, uris: [`spiffe://ttsnap/${role}/${id}`], dns: ['localhost'], ips: ['127.0.0.1'] });
    const nats = await startRenderedNats(manifests, join(tmp, 'nats'), secretVolume(ca, { name: 'nats', dns: ['localhost'], ips: ['127.0.0.1'] }));
    procs.add(nats.proc);
    const [grpc, metrics, health] = [await freePort(), await freePort(), await freePort()];
    const coordinator = `127.0.0.1:${grpc}`;
    coordinatorMetrics = `127.0.0.1:${metrics}`;
    // NATS by name, as in the cluster (nats.js would send an IP as the TLS server name, which Node warns about)
    const cluster = { 'nats://nats:4222': nats.url.replace('127.0.0.1', 'localhost'), 'ttsnap-coordinator:7070': coordinator, '/traces/': `${TRACES}/` };
    const coordinatorTls = identity('coordinator', 'coordinator', 'ttsnap-coordinator');
    procs.ttsnap('coordinator', localize(manifestArgv(manifests, 'Deployment', 'ttsnap-coordinator'), { ...cluster, '0.0.0.0:7070': coordinator, '0.0.0.0:8081': `127.0.0.1:${health}`, '/etc/ttsnap/tls/': `${coordinatorTls}/` }, metrics));
    await waitFor('coordinator /metrics', () => answers200(`http://${coordinatorMetrics}/metrics`), 20_000);
    for (let i = 0; i < WORKERS; i++) {
      const [wg, wm, wh] = [await freePort(), await freePort(), await freePort()];
      const listen = `127.0.0.1:${wg}`;
      workerMetrics.push(`127.0.0.1:${wm}`);
      const name = `ttsnap-worker-${i}`;
      const subst = {
        // advertised by name, as in the cluster (the certificate carries localhost here, the pod's DNS names there)
        ...cluster, '0.0.0.0:7070': listen, '$(POD_NAME).ttsnap-worker.$(POD_NAMESPACE).svc:7070': `localhost:${wg}`, '$(POD_NAME)': name,
        '0.0.0.0:8081': `127.0.0.1:${wh}`, '/etc/ttsnap/tls/': `${identity(name, 'worker', name)}/`,
      };
      procs.ttsnap(`worker-${i}`, localize(manifestArgv(manifests, 'StatefulSet', 'ttsnap-worker'), subst, wm));
    }
    for (const w of workerMetrics) await waitFor(`worker /metrics ${w}`, () => answers200(`http://${w}/metrics`), 20_000);
    const prom = await startPrometheus(
      join(tmp, 'prometheus'),
      [
        { job: 'ttsnap-coordinator', targets: [coordinatorMetrics], pods: ['ttsnap-coordinator-0'] },
        { job: 'ttsnap-worker', targets: workerMetrics, pods: workerMetrics.map((_, i) => `ttsnap-worker-${i}`) },
      ],
      [ALERTS_FILE],
    );
    procs.add(prom.proc);
    promUrl = prom.url;
    // the first scrape lands a few seconds after Prometheus starts
    await waitFor('every target scraped and up', async () => ((await promQuery(promUrl, 'sum(up)'))[0]?.value[1] === String(1 + WORKERS) ? true : undefined), 45_000);

    // the Job's command (search --coordinator ... --json) with a search small enough for a test
    const search = localize(manifestArgv(manifests, 'Job', 'ttsnap-search'), { ...cluster, '/etc/ttsnap/tls/': `${identity('search', 'client', 'ttsnap-search')}/` }, 0);
    const tlsFlags = search.slice(search.indexOf('--tls-cert'), search.indexOf('--tls-ca') + 2);
    expect(tlsFlags.filter((a) => a.startsWith('--'))).toEqual(['--tls-cert', '--tls-key', '--tls-ca']);
    const what = ['--prompts', `0:${PROMPTS}`, '--candidates', String(CANDIDATES), '--schedule', '2:0.4,6:0.4,11:0.5', '--seed', '1'];
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [CLI, ...search.slice(0, search.indexOf('--json') + 1), ...tlsFlags, ...what],
      { cwd: REPO, timeout: 90_000, maxBuffer: 16 << 20 },
    );
    result = JSON.parse(stdout) as SearchResult;
    const searchEnded = Date.now() / 1000;
    // Wait until every target has been scraped at least twice after the search ended: the counters are final,
    // and series born during the search (a stage's histogram, a job state's counter) have the two samples that
    // rate() and increase() need.
    await waitFor('two scrapes of every target after the search', async () => {
      const [s] = await promQuery(promUrl, 'min(timestamp(up))');
      return Number(s?.value[1]) > searchEnded + 2 ? true : undefined;
    }, 15_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${procs.diagnose()}`);
  }
}, 180_000);

afterAll(() => procs.stopAll());

describe('a coordinator and trace workers scraped by a real Prometheus', () => {
  it('serve /metrics that pass promtool check metrics', async () => {
    for (const target of [coordinatorMetrics, workerMetrics[0] ?? '']) {
      const body = (await httpGet(`http://${target}/metrics`))?.body ?? '';
      expect(body).toContain('# TYPE ttsnap_');
      // prom-client names three default gauges nodejs_active_*_total, which promtool rightly flags; they are its
      // naming, not ours, and dropping them from the check keeps every ttsnap_ and process_ family linted
      const ours = body.split('\n').filter((l) => !/^(# (HELP|TYPE) )?nodejs_active_(handles|requests|resources)_total\b/.test(l)).join('\n');
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: ours, encoding: 'utf8' });
      expect({ target, status: lint.status, out: lint.stdout + lint.stderr }).toEqual({ target, status: 0, out: '' });
    }
  });

  it('serve process metrics beside their own', async () => {
    for (const target of [coordinatorMetrics, ...workerMetrics]) {
      const body = (await httpGet(`http://${target}/metrics`))?.body ?? '';
      for (const name of ['process_start_time_seconds', 'process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_gc_duration_seconds_sum']) {
        expect(body, `${target} ${name}`).toMatch(new RegExp(`^${name}(\\{[^}]*\\})? [0-9.e+-]+$`, 'm'));
      }
    }
    const info = await promQuery(promUrl, 'ttsnap_worker_info');
    expect(info.map((s) => [s.metric.pod, s.metric.backend, s.metric.provider, s.metric.bundle]).sort()).toEqual(
      workerMetrics.map((_, i) => [`ttsnap-worker-${i}`, 'trace', 'simulated', 'flux_pic']),
    );
  });

  it('run mutual TLS as deployed: each server says so at start, the workers registered by their certificate names', () => {
    for (const name of ['coordinator', 'worker-0', 'worker-1']) {
      expect(procs.get(name)?.stderr ?? '', name).toContain('gRPC over mutual TLS (client certificates required), trust domain ttsnap');
    }
  });

  it('log JSON lines with level, time, process and the ids of what they are about', () => {
    const lines = (name: string) =>
      (procs.get(name)?.output() ?? '').split('\n').slice(1).filter((l) => l.startsWith('{'));
    const records = (name: string) => lines(name).map((l) => JSON.parse(l) as Record<string, unknown>);
    const coord = records('coordinator');
    // every line of the coordinator's output is JSON (the tail kept by Proc may cut the first one)
    const all = (procs.get('coordinator')?.output() ?? '').split('\n').slice(2).filter(Boolean);
    expect(all.filter((l) => !(l.startsWith('{') && l.endsWith('}')))).toEqual([]);
    for (const r of coord) expect(Object.keys(r).slice(0, 3)).toEqual(['level', 'time', 'process']);
    const accepted = coord.find((r) => r.msg === 'job accepted');
    const ended = coord.find((r) => r.msg === 'job ended');
    expect(accepted).toMatchObject({ level: 'info', process: 'coordinator', prompts: PROMPTS, candidates: CANDIDATES });
    expect(ended).toMatchObject({ level: 'info', job: accepted?.job, state: 'done', prompts: PROMPTS });
    expect(coord.filter((r) => r.msg === 'worker registered').map((r) => r.worker).sort()).toEqual(['ttsnap-worker-0', 'ttsnap-worker-1']);
    const serving = records('worker-0').find((r) => r.msg === 'worker serving');
    expect(serving).toMatchObject({ level: 'info', process: 'worker', worker: 'ttsnap-worker-0', backend: 'trace', provider: 'simulated' });
  });

  it('answer every dashboard expression with data', async () => {
    const exprs = dashboardExprs().filter((d) => !readsExternal(d.expr));
    expect(exprs.length).toBeGreaterThanOrEqual(30);
    const empty: string[] = [];
    for (const { panel, refId, expr } of exprs) if ((await promQuery(promUrl, expr)).length === 0) empty.push(`${panel} ${refId}: ${expr}`);
    expect(empty).toEqual([]);
  });

  it('answer every recording rule and every alert value with data, and fire no alert', async () => {
    const { recording, alerts } = loadRules();
    const empty: string[] = [];
    const firing: string[] = [];
    for (const r of recording) if ((await promQuery(promUrl, r.expr)).length === 0) empty.push(`${r.record}: ${r.expr}`);
    for (const a of alerts) {
      const full = expandRecorded(a.expr, recording);
      const { value } = splitThreshold(full);
      if (!readsExternal(value) && (await promQuery(promUrl, value)).length === 0) empty.push(`${a.alert}: ${value}`);
      const fires = await promQuery(promUrl, full);
      if (fires.length > 0) firing.push(`${a.alert}: ${JSON.stringify(fires)}`);
    }
    expect(empty).toEqual([]);
    expect(firing).toEqual([]);
  });

  it('scraped counters that agree with the search result', async () => {
    const one = async (expr: string) => Number((await promQuery(promUrl, expr))[0]?.value[1]);
    const explored = result.prompts.reduce((n, p) => n + p.explored.length, 0);
    expect(result.prompts.map((p) => p.prompt)).toEqual([0, 1, 2, 3]);
    expect(explored).toBe(PROMPTS * CANDIDATES);
    expect(await one('sum(ttsnap_candidates_explored_total)')).toBe(explored);
    // every explored candidate ends pruned or finished
    expect((await one('sum(ttsnap_candidates_pruned_total)')) + (await one('sum(ttsnap_candidates_finished_total)'))).toBe(explored);
    expect(await one('sum(ttsnap_budget_spent_total) / sum(ttsnap_budget_allocated_total)')).toBeLessThanOrEqual(1 + 1e-9);
    // the workers' and the coordinator's counters match the job's ledger exactly (a healthy run redoes nothing)
    const { ledger } = result;
    const rewardCalls = Object.values(ledger.reward_calls).reduce((a, b) => a + b, 0);
    expect(await one('sum(ttsnap_worker_denoise_steps_total)')).toBe(ledger.denoise_steps);
    expect(await one('sum(ttsnap_worker_reward_calls_total)')).toBe(rewardCalls);
    expect(await one('sum(ttsnap_budget_spent_total)')).toBeCloseTo(ledger.cost, 6);
    expect(await one('sum(ttsnap_jobs_completed_total{state="done"})')).toBe(1);
    // the job just ended within budget: the worst-job gauge is its ratio, at most 1; nothing runs, so nothing idles
    expect(await one('max(ttsnap_job_budget_spent_ratio_max)')).toBeGreaterThan(0.5);
    expect(await one('max(ttsnap_job_budget_spent_ratio_max)')).toBeLessThanOrEqual(1 + 1e-9);
    expect(await one('max(ttsnap_job_idle_seconds_max)')).toBe(0);
    expect(await one('min(ttsnap_jetstream_healthy)')).toBe(1);
    expect(await one('min(ttsnap_worker_ready)')).toBe(1);
  });

  it('report a killed worker through TtsnapWorkerDown', async () => {
    const { recording, alerts } = loadRules();
    const down = alerts.find((a) => a.alert === 'TtsnapWorkerDown');
    expect(down).toBeDefined();
    const victim = procs.get('worker-1');
    victim?.child.kill('SIGKILL');
    await victim?.exited;
    const fired = await waitFor('TtsnapWorkerDown to return the killed worker', async () => {
      const r = await promQuery(promUrl, expandRecorded(down?.expr ?? '', recording));
      return r.length > 0 ? r : undefined;
    }, 15_000);
    expect(fired.map((s) => [s.metric.job, s.metric.instance, s.value[1]])).toEqual([['ttsnap-worker', workerMetrics[1], '0']]);
  });
});
