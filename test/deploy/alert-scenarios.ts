/**
 * Unit scenarios for the alert rules, run by `promtool test rules`: synthetic series in, the alerts that must (and
 * must not) be firing at given times out. Each alert gets a scenario where it fires and one where it stays quiet.
 * Expected annotations: the summary is spelt out here (it renders $value and labels); the description is taken
 * from alerts.yaml, since it has no template.
 */
import { stringify } from 'yaml';
import type { AlertRule } from './promql.js';

interface Expect {
  at: string;
  labels?: Record<string, string>;
  summary?: string; // undefined = the alert must not be firing at `at`
}
export interface Scenario {
  alert: string;
  series: Record<string, string>;
  expect: Expect[];
}

const latency = (le: string[], perMinute: number[]) =>
  Object.fromEntries(le.map((b, i) => [`ttsnap_score_latency_seconds_bucket{le="${b}"}`, `0+${perMinute[i]}x40`]));

export const SCENARIOS: Scenario[] = [
  {
    alert: 'TtsnapJobStalled',
    // one job running; scores arrive for 5 minutes, then none
    series: { 'ttsnap_jobs{state="running"}': '1x40', ttsnap_score_latency_seconds_count: '0+10x5 50x35' },
    expect: [{ at: '14m' }, { at: '21m', labels: { severity: 'critical' }, summary: '1 ttsnap job(s) running with no score received for 15 minutes' }],
  },
  {
    alert: 'TtsnapJobStalled',
    // no job running: a quiet coordinator is not stalled
    series: { 'ttsnap_jobs{state="running"}': '0x40', ttsnap_score_latency_seconds_count: '50x40' },
    expect: [{ at: '30m' }],
  },
  {
    alert: 'TtsnapBudgetOverrun',
    // 100 granted, 10 spent per minute: over 105 from minute 11; spending stops at 210 (minute 21), so the value
    // in the summary does not depend on when in the minute the recording rule last ran
    series: { 'ttsnap_budget_allocated_total{kind="denoise"}': '100x40', 'ttsnap_budget_spent_total{kind="denoise"}': '0+10x21 210x19' },
    expect: [{ at: '15m' }, { at: '23m', labels: { severity: 'warning' }, summary: 'ttsnap spent 210% of the budget it granted' }],
  },
  {
    alert: 'TtsnapBudgetOverrun',
    series: { 'ttsnap_budget_allocated_total{kind="denoise"}': '100x40', 'ttsnap_budget_spent_total{kind="denoise"}': '0+5x20 100x20' },
    expect: [{ at: '39m' }],
  },
  {
    alert: 'TtsnapWorkerDown',
    // a worker of a plain scrape job dies at minute 2; one scraped through a PodMonitor job name stays up
    series: { 'up{job="ttsnap-worker",instance="10.0.0.7:9464"}': '1 1 0x20', 'up{job="ttsnap/ttsnap-worker",instance="10.0.0.8:9464"}': '1x22' },
    expect: [
      { at: '3m' },
      { at: '5m', labels: { severity: 'warning', job: 'ttsnap-worker', instance: '10.0.0.7:9464' }, summary: 'ttsnap worker 10.0.0.7:9464 is not scraped' },
    ],
  },
  {
    alert: 'TtsnapCoordinatorDown',
    series: { 'up{job="ttsnap-coordinator",instance="10.0.0.2:9464"}': '0x10' },
    expect: [{ at: '1m' }, { at: '3m', labels: { severity: 'critical', job: 'ttsnap-coordinator', instance: '10.0.0.2:9464' }, summary: 'ttsnap coordinator 10.0.0.2:9464 is not scraped' }],
  },
  {
    alert: 'TtsnapScoreLatencyHigh',
    // every score takes between 30 s and 60 s
    series: latency(['10', '30', '60', '+Inf'], [0, 0, 10, 10]),
    expect: [{ at: '9m' }, { at: '20m', labels: { severity: 'warning' }, summary: 'ttsnap p99 score latency is 59.7s' }],
  },
  {
    alert: 'TtsnapScoreLatencyHigh',
    // every score under 10 s
    series: latency(['10', '30', '60', '+Inf'], [10, 10, 10, 10]),
    expect: [{ at: '30m' }],
  },
];

/** The promtool unit-test file for `rulesFile`: one test group per scenario. */
export function promtoolTests(rulesFile: string, alerts: readonly AlertRule[], scenarios: readonly Scenario[]): string {
  const description = (name: string) => (alerts.find((a) => a.alert === name) as { annotations?: { description?: string } } | undefined)?.annotations?.description ?? '';
  return stringify({
    rule_files: [rulesFile],
    evaluation_interval: '30s',
    tests: scenarios.map((s) => ({
      name: `${s.alert}: ${Object.keys(s.series).join(', ')}`,
      interval: '1m',
      input_series: Object.entries(s.series).map(([series, values]) => ({ series, values })),
      alert_rule_test: s.expect.map((e) => ({
        eval_time: e.at,
        alertname: s.alert,
        exp_alerts: e.summary === undefined ? [] : [{ exp_labels: e.labels ?? {}, exp_annotations: { summary: e.summary, description: description(s.alert) } }],
      })),
    })),
  });
}
