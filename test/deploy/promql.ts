/**
 * The PromQL of deploy/monitoring: every dashboard target and every rule, in the form the integration test
 * evaluates. Grafana's variables become fixed values; an alert's threshold is split off so that its value
 * expression can be checked for data; recording-rule names are expanded into their expressions, so nothing
 * waits for Prometheus' rule evaluation interval.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { REPO } from './render.js';

export const ALERTS_FILE = join(REPO, 'deploy', 'monitoring', 'alerts.yaml');
export const DASHBOARD_FILE = join(REPO, 'deploy', 'monitoring', 'dashboard.json');

export interface RecordingRule {
  record: string;
  expr: string;
}
export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: { summary?: string; description?: string; runbook_url?: string };
}

/** Recording and alerting rules of alerts.yaml, in file order. */
export function loadRules(): { recording: RecordingRule[]; alerts: AlertRule[] } {
  const doc = YAML.parse(readFileSync(ALERTS_FILE, 'utf8')) as { groups: { rules: (RecordingRule | AlertRule)[] }[] };
  const rules = doc.groups.flatMap((g) => g.rules);
  return {
    recording: rules.filter((r): r is RecordingRule => 'record' in r),
    alerts: rules.filter((r): r is AlertRule => 'alert' in r),
  };
}

/**
 * Grafana's variables as the test sets them: all namespaces, a 1 m rate window (at a 1 s scrape interval that
 * spans the whole short run; Grafana would pick 4 x its scrape interval).
 */
export const GRAFANA_VARS: Record<string, string> = { namespace: '.*', __rate_interval: '1m', __interval: '15s', __range: '5m' };

/** Every target of the dashboard: panel title, refId and the expression with its variables substituted. */
export function dashboardExprs(): { panel: string; refId: string; expr: string }[] {
  const dash = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { panels: { title: string; targets?: { refId: string; expr: string }[] }[] };
  return dash.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr.replace(/\$(\w+)/g, (m, v: string) => GRAFANA_VARS[v] ?? m) })),
  );
}

const THRESHOLD = /^([\s\S]*?)\s*((?:==|!=|>=|<=|>|<)\s*(?:bool\s+)?-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$/;

/** `value > 1.05` -> { value: 'value', threshold: '> 1.05' }; throws when the rule breaks the convention. */
export function splitThreshold(expr: string): { value: string; threshold: string } {
  const m = THRESHOLD.exec(expr.trim());
  if (!m?.[1] || !m[2]) throw new Error(`alert expression is not "<value> <op> <number>": ${expr}`);
  return { value: m[1], threshold: m[2].replace(/\s+/g, ' ') };
}

/** Replaces each recording-rule name with its (parenthesised) expression. */
export function expandRecorded(expr: string, recording: readonly RecordingRule[]): string {
  let out = expr;
  for (const r of recording) out = out.split(r.record).join(`(${r.expr.trim()})`);
  return out;
}

/**
 * Metrics that do not come from ttsnap's processes: Prometheus' own `up`, prom-client's process metrics, and
 * the exporters a cluster runs beside ttsnap (kube-state-metrics, the NATS exporter with -prefix=nats).
 */
export const OWN_EXTRA = /^(?:up|process_[a-z_]+|nodejs_[a-z_]+)$/;
export const EXTERNAL = /^(?:kube_[a-z_]+|nats_[a-z_]+)$/;

/** Metric names that an expression selects; recording-rule names (with ':') and functions are not metrics. */
export function metricNames(expr: string): string[] {
  const names = expr.match(/\b(?:ttsnap_[a-z0-9_]+|up|process_[a-z_]+|nodejs_[a-z_]+|kube_[a-z_]+|nats_[a-z_]+)\b(?=\s*[{[)\s]|$)/g) ?? [];
  return [...new Set(names)];
}

/** True when an expression reads an exporter that the integration test does not run (kube-state-metrics, NATS). */
export const readsExternal = (expr: string): boolean => metricNames(expr).some((n) => EXTERNAL.test(n));
