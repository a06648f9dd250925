// The alert rules pass `promtool check rules`, follow the "<value expression> <comparison> <number>" convention
// that the integration test relies on, use only metric names from core/metrics/catalog.ts, and the generated
// dashboard and PrometheusRule are in sync with their sources (deploy/tools/render.mjs --check).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { METRICS } from '../../core/metrics/catalog.js';
import { promtoolTests, SCENARIOS } from './alert-scenarios.js';
import { ALERTS_FILE, dashboardExprs, EXTERNAL, loadRules, metricNames, OWN_EXTRA, splitThreshold } from './promql.js';
import { REPO } from './render.js';

const EXTERNAL_USED = ['kube_pod_container_resource_requests', 'kube_pod_status_phase', 'nats_varz_connections', 'nats_varz_in_msgs', 'nats_varz_mem', 'nats_varz_out_msgs', 'nats_varz_slow_consumers'];

describe('alert rules', () => {
  it('pass promtool check rules', () => {
    const out = execFileSync('promtool', ['check', 'rules', ALERTS_FILE], { encoding: 'utf8' });
    expect(out).toContain('SUCCESS: 13 rules found');
  });

  it('cover stalls, waits for a worker, overruns, lost workers, the coordinator, JetStream, the result store, recomputation, latency and GPUs, each as value <op> number', () => {
    const { alerts } = loadRules();
    expect(alerts.map((a) => a.alert)).toEqual([
      'TtsnapJobStalled', 'TtsnapJobWaiting', 'TtsnapBudgetOverrun', 'TtsnapWorkerDown', 'TtsnapCoordinatorAbsent', 'TtsnapCoordinatorRestarted', 'TtsnapJetStreamUnhealthy',
      'TtsnapResultStoreFailing', 'TtsnapRecomputeRatioHigh', 'TtsnapScoreLatencyHigh', 'TtsnapGpuWorkerOnCpu', 'TtsnapWorkerPending',
    ]);
    expect(alerts.map((a) => splitThreshold(a.expr).threshold)).toEqual(['> 900', '> 0', '> 1.05', '< 1', '< 1', '> 0', '< 1', '> 0', '> 0.2', '> 600', '> 0', '> 0']);
    for (const a of alerts) expect(a.labels?.severity, a.alert).toMatch(/^(warning|critical)$/);
  });

  it('every alert has a summary, a description and a runbook_url to its own section of deploy/README.md', () => {
    const readme = readFileSync(join(REPO, 'deploy', 'README.md'), 'utf8');
    // GitHub's anchor for a heading: lower case, spaces to dashes, punctuation dropped
    const anchors = new Set([...readme.matchAll(/^#{2,4} (.+)$/gm)].map((m) => (m[1] ?? '').toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    for (const a of loadRules().alerts) {
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect((a.annotations?.description ?? '').length, a.alert).toBeGreaterThan(60);
      const url = a.annotations?.runbook_url ?? '';
      expect(url, a.alert).toBe(`https://github.com/ttsnap/ttsnap/blob/main/deploy/README.md#${a.alert.toLowerCase()}`);
      expect(anchors.has(a.alert.toLowerCase()), `deploy/README.md has a section ${a.alert}`).toBe(true);
    }
  });

  it('fire exactly when they should: promtool test rules on a firing and a quiet scenario per alert', () => {
    expect(SCENARIOS.length).toBe(27);
    const { alerts } = loadRules();
    const names = alerts.map((a) => a.alert);
    for (const name of names) {
      const mine = SCENARIOS.filter((sc) => sc.alert === name);
      expect(mine.some((sc) => sc.expect.some((e) => e.summary)), `${name} fires somewhere`).toBe(true);
      expect(mine.some((sc) => sc.expect.some((e) => !e.summary)), `${name} stays quiet somewhere`).toBe(true);
    }
    const dir = mkdtempSync(join(tmpdir(), 'ttsnap-rules-'));
    try {
      const file = join(dir, 'alerts.test.yaml');
      writeFileSync(file, promtoolTests(ALERTS_FILE, alerts, SCENARIOS));
      const r = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8' });
      expect({ status: r.status, out: r.stdout + r.stderr }).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reference only metrics from the catalog, process metrics and the named exporters, in rules and dashboard alike', () => {
    const known = new Set(Object.values(METRICS).flatMap((m) => (m.type === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name])));
    const { recording, alerts } = loadRules();
    const exprs = [...recording.map((r) => r.expr), ...alerts.map((a) => a.expr), ...dashboardExprs().map((d) => d.expr)];
    const used = new Set(exprs.flatMap(metricNames));
    expect([...used].filter((n) => !known.has(n) && !OWN_EXTRA.test(n) && !EXTERNAL.test(n))).toEqual([]);
    // exporters: kube-state-metrics for the GPU and Pending alerts, the NATS exporter for the dashboard's NATS row
    expect([...used].filter((n) => EXTERNAL.test(n)).sort()).toEqual(EXTERNAL_USED);
    // the dashboard shows every coordinator metric family a platform engineer asked for
    for (const name of ['ttsnap_budget_spent_total', 'ttsnap_budget_allocated_total', 'ttsnap_candidates_explored_total', 'ttsnap_candidates_pruned_total',
      'ttsnap_candidates_finished_total', 'ttsnap_stage_duration_seconds_bucket', 'ttsnap_worker_busy_ratio', 'ttsnap_queue_depth',
      'ttsnap_score_latency_seconds_bucket', 'ttsnap_latent_bytes_moved_total']) {
      expect(dashboardExprs().some((d) => metricNames(d.expr).includes(name)), name).toBe(true);
    }
  });

  it('dashboard: unique panel ids, a Prometheus datasource on every target, panels inside the 24-column grid, no overlap', () => {
    interface Panel { id: number; type: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { uid: string }; targets?: { datasource: { uid: string } }[] }
    const dash = JSON.parse(readFileSync(join(REPO, 'deploy', 'monitoring', 'dashboard.json'), 'utf8')) as { uid: string; panels: Panel[]; templating: { list: { name: string }[] } };
    expect(dash.uid).toBe('ttsnap-overview');
    expect(dash.templating.list.map((v) => v.name)).toEqual(['datasource', 'namespace']);
    const ids = dash.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of dash.panels) {
      expect(p.gridPos.x + p.gridPos.w, `panel ${p.id}`).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `panel ${p.id} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
      if (p.type === 'row') continue;
      expect(p.datasource?.uid).toBe('${datasource}');
      expect((p.targets ?? []).length).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource.uid).toBe('${datasource}');
    }
  });

  it('generated files are in sync: dashboard.json and prometheusrule.yaml', () => {
    const r = spawnSync('node', [join(REPO, 'deploy', 'tools', 'render.mjs'), '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const pr = YAML.parse(readFileSync(join(REPO, 'deploy', 'monitoring', 'prometheusrule.yaml'), 'utf8')) as { spec: unknown };
    expect(pr.spec).toEqual(YAML.parse(readFileSync(ALERTS_FILE, 'utf8')));
  });
});
