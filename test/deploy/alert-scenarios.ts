/**
 * Unit scenarios for the alert rules, run by `promtool test rules`: synthetic series in, the alerts that must (and
 * must not) be firing at given times out. Each alert gets a scenario where it fires and one where it stays quiet,
 * and the quiet ones include the cases the old rules got wrong (a stuck job hidden by a progressing one, an
 * overrun diluted by on-budget jobs, a scale-up taken for a dead worker).
 * Expected annotations: the summary is spelt out here (it renders $value and labels); the description and the
 * runbook_url are taken from alerts.yaml, since they have no template.
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
  /** what the scenario shows, for the test name */
  what: string;
  series: Record<string, string>;
  expect: Expect[];
}

const COORD = 'job="ttsnap-coordinator",instance="10.0.0.2:9464"';
const latency = (le: string[], perMinute: number[]) =>
  Object.fromEntries(le.map((b, i) => [`ttsnap_score_latency_seconds_bucket{le="${b}"}`, `0+${perMinute[i]}x40`]));
const resultErrors = (open: string, put: string) => ({
  [`ttsnap_result_store_errors_total{${COORD},op="open"}`]: open,
  [`ttsnap_result_store_errors_total{${COORD},op="put"}`]: put,
  [`ttsnap_result_store_errors_total{${COORD},op="get"}`]: '0x30',
});
const GPU_POD = 'namespace="ttsnap",pod="ttsnap-worker-3"';
const workerInfo = (pod: string, provider: string) =>
  `ttsnap_worker_info{namespace="ttsnap",pod="${pod}",job="ttsnap/ttsnap-worker",instance="${pod}:9464",backend="onnx",provider="${provider}",bundle="sdxl"}`;
const gpuRequest = (pod: string) => `kube_pod_container_resource_requests{namespace="ttsnap",pod="${pod}",container="worker",resource="nvidia_com_gpu",unit="integer"}`;

export const SCENARIOS: Scenario[] = [
  {
    alert: 'TtsnapJobStalled',
    what: 'the worst running job has had no score for 16 minutes',
    series: { [`ttsnap_job_idle_seconds_max{${COORD}}`]: '0+60x30' },
    expect: [{ at: '14m' }, { at: '20m', labels: { severity: 'critical' }, summary: 'A running ttsnap job has received no score for 20m 0s' }],
  },
  {
    alert: 'TtsnapJobStalled',
    what: 'every running job scores every half minute',
    series: { [`ttsnap_job_idle_seconds_max{${COORD}}`]: '30x40' },
    expect: [{ at: '30m' }],
  },
  {
    alert: 'TtsnapJobWaiting',
    what: 'a job has waited for a worker for 6 minutes',
    series: { [`ttsnap_jobs_waiting{${COORD}}`]: '0x5 1x20' },
    expect: [{ at: '9m' }, { at: '12m', labels: { severity: 'warning' }, summary: '1 running ttsnap job(s) have waited 5 minutes for a worker of their pool' }],
  },
  {
    alert: 'TtsnapJobWaiting',
    // a worker restarting (a rolling upgrade of a one-worker pool) leaves a job waiting for a few minutes at a time
    what: 'a job waits for 4 minutes at a time, three times',
    series: { [`ttsnap_jobs_waiting{${COORD}}`]: '1x3 0x2 1x3 0x2 1x3 0x10' },
    expect: [{ at: '4m' }, { at: '9m' }, { at: '14m' }, { at: '20m' }],
  },
  {
    alert: 'TtsnapBudgetOverrun',
    // twenty minutes of jobs on budget (ratio 1), then one job that spends twice its grant: the old rule (totals
    // since start) would read 21/20 = 1.05 and stay quiet
    what: 'one job spends double after twenty on budget',
    series: { [`ttsnap_job_budget_spent_ratio_max{${COORD}}`]: '1x20 0.5 1 1.5 2 2x16' },
    expect: [{ at: '21m' }, { at: '26m', labels: { severity: 'warning' }, summary: 'A ttsnap job spent 200% of the budget it was granted' }],
  },
  {
    alert: 'TtsnapBudgetOverrun',
    what: 'jobs end exactly on budget',
    series: { [`ttsnap_job_budget_spent_ratio_max{${COORD}}`]: '0+0.1x10 1x30' },
    expect: [{ at: '39m' }],
  },
  {
    alert: 'TtsnapWorkerDown',
    what: 'a ready worker is killed',
    series: {
      'up{job="ttsnap-worker",instance="10.0.0.7:9464"}': '1x5 0x20',
      'ttsnap_worker_ready{job="ttsnap-worker",instance="10.0.0.7:9464"}': '0 1x4 _x20',
    },
    expect: [{ at: '6m' }, { at: '8m', labels: { severity: 'warning', job: 'ttsnap-worker', instance: '10.0.0.7:9464' }, summary: 'ttsnap worker 10.0.0.7:9464 stopped answering after it had been ready' }],
  },
  {
    alert: 'TtsnapWorkerDown',
    // a new pod pulls its image for 10 minutes (target down), then loads its model for 10 (up, not ready)
    what: 'a scale-up pod pulls its image and loads its model',
    series: {
      'up{job="ttsnap/ttsnap-worker",instance="10.0.0.8:9464"}': '0x10 1x15',
      'ttsnap_worker_ready{job="ttsnap/ttsnap-worker",instance="10.0.0.8:9464"}': '_x10 0x10 1x5',
    },
    expect: [{ at: '8m' }, { at: '15m' }, { at: '24m' }],
  },
  {
    alert: 'TtsnapCoordinatorAbsent',
    what: 'no coordinator target at all',
    series: { 'up{job="ttsnap-worker",instance="10.0.0.7:9464"}': '1x10' },
    expect: [{ at: '1m' }, { at: '3m', labels: { severity: 'critical' }, summary: 'No ttsnap coordinator is up' }],
  },
  {
    alert: 'TtsnapCoordinatorAbsent',
    what: 'the coordinator target is down',
    series: { [`up{${COORD}}`]: '1 1 0x10' },
    expect: [{ at: '3m' }, { at: '5m', labels: { severity: 'critical' }, summary: 'No ttsnap coordinator is up' }],
  },
  {
    alert: 'TtsnapCoordinatorAbsent',
    what: 'the coordinator is up',
    series: { [`up{${COORD}}`]: '1x10' },
    expect: [{ at: '9m' }],
  },
  {
    alert: 'TtsnapCoordinatorRestarted',
    // the pod is replaced at minute 11: a new instance with a later start time
    what: 'a new coordinator pod starts',
    series: {
      [`process_start_time_seconds{${COORD}}`]: '1000x10 _x20',
      'process_start_time_seconds{job="ttsnap-coordinator",instance="10.0.0.3:9464"}': '_x11 1700x20',
    },
    expect: [{ at: '10m' }, { at: '15m', labels: { severity: 'warning' }, summary: 'The ttsnap coordinator restarted in the last 30 minutes' }, { at: '50m' }],
  },
  {
    alert: 'TtsnapCoordinatorRestarted',
    what: 'the same coordinator process runs on',
    series: { [`process_start_time_seconds{${COORD}}`]: '1000x40' },
    expect: [{ at: '35m' }],
  },
  {
    alert: 'TtsnapCoordinatorRestarted',
    what: 'the coordinator process restarts in its pod',
    series: { [`process_start_time_seconds{${COORD}}`]: '1000x10 1700x30' },
    expect: [{ at: '9m' }, { at: '12m', labels: { severity: 'warning' }, summary: 'The ttsnap coordinator restarted in the last 30 minutes' }, { at: '45m' }],
  },
  {
    alert: 'TtsnapJetStreamUnhealthy',
    what: 'JetStream stops answering',
    series: { [`ttsnap_jetstream_healthy{${COORD}}`]: '1x5 0x20' },
    expect: [{ at: '6m' }, { at: '9m', labels: { severity: 'critical' }, summary: 'JetStream does not answer the ttsnap coordinator' }],
  },
  {
    alert: 'TtsnapJetStreamUnhealthy',
    what: 'one failed check, then healthy again',
    series: { [`ttsnap_jetstream_healthy{${COORD}}`]: '1 1 0 1x20' },
    expect: [{ at: '3m' }, { at: '10m' }],
  },
  {
    alert: 'TtsnapResultStoreFailing',
    what: 'two result puts fail',
    series: resultErrors('0x30', '0x5 1 2 2x20'),
    expect: [{ at: '4m' }, { at: '8m', labels: { severity: 'warning' }, summary: "ttsnap's result store failed 2 time(s) recently" }, { at: '25m' }],
  },
  {
    alert: 'TtsnapResultStoreFailing',
    what: 'the store never opened',
    series: resultErrors('1x30', '0x30'),
    expect: [{ at: '25m', labels: { severity: 'warning' }, summary: "ttsnap's result store failed 1 time(s) recently" }],
  },
  {
    alert: 'TtsnapResultStoreFailing',
    what: 'no result-store error',
    series: resultErrors('0x30', '0x30'),
    expect: [{ at: '20m' }],
  },
  {
    alert: 'TtsnapRecomputeRatioHigh',
    what: '30% of the denoise steps are recomputed',
    series: { [`ttsnap_recomputed_steps_total{${COORD}}`]: '0+30x60', 'ttsnap_worker_denoise_steps_total{job="ttsnap-worker",instance="10.0.0.7:9464"}': '0+100x60' },
    expect: [{ at: '30m', labels: { severity: 'warning' }, summary: "30% of ttsnap's denoise steps in the last hour were recomputation" }],
  },
  {
    alert: 'TtsnapRecomputeRatioHigh',
    what: '5% recomputed',
    series: { [`ttsnap_recomputed_steps_total{${COORD}}`]: '0+5x60', 'ttsnap_worker_denoise_steps_total{job="ttsnap-worker",instance="10.0.0.7:9464"}': '0+100x60' },
    expect: [{ at: '30m' }],
  },
  {
    alert: 'TtsnapScoreLatencyHigh',
    // every score takes 10 to 20 minutes (a real model at a large batch, or scores asked for again and again):
    // beyond the old buckets' last bound (60 s) and the old rule's re-request reset (10 s)
    what: 'scores take 10 to 20 minutes',
    series: latency(['300', '600', '1200', '3600', '+Inf'], [0, 0, 10, 10, 10]),
    expect: [{ at: '9m' }, { at: '25m', labels: { severity: 'warning' }, summary: 'ttsnap p99 score latency is 19m 54s' }],
  },
  {
    alert: 'TtsnapScoreLatencyHigh',
    what: 'every score under 5 minutes',
    series: latency(['300', '600', '1200', '3600', '+Inf'], [10, 10, 10, 10, 10]),
    expect: [{ at: '30m' }],
  },
  {
    alert: 'TtsnapGpuWorkerOnCpu',
    what: 'a GPU pod runs its model on the CPU',
    series: { [workerInfo('ttsnap-worker-3', 'cpu')]: '1x20', [gpuRequest('ttsnap-worker-3')]: '1x20' },
    expect: [
      { at: '3m' },
      {
        at: '7m',
        labels: { severity: 'critical', namespace: 'ttsnap', pod: 'ttsnap-worker-3', job: 'ttsnap/ttsnap-worker', instance: 'ttsnap-worker-3:9464', backend: 'onnx', provider: 'cpu', bundle: 'sdxl' },
        summary: 'ttsnap worker ttsnap-worker-3 holds a GPU but runs its model on the CPU',
      },
    ],
  },
  {
    alert: 'TtsnapGpuWorkerOnCpu',
    what: 'a GPU pod on cuda and a CPU pod on cpu',
    series: { [workerInfo('ttsnap-worker-3', 'cuda')]: '1x20', [gpuRequest('ttsnap-worker-3')]: '1x20', [workerInfo('ttsnap-worker-4', 'cpu')]: '1x20' },
    expect: [{ at: '15m' }],
  },
  {
    alert: 'TtsnapWorkerPending',
    what: 'a worker waits 20 minutes for a GPU',
    series: { [`kube_pod_status_phase{${GPU_POD},phase="Pending"}`]: '1x30', [`kube_pod_status_phase{${GPU_POD},phase="Running"}`]: '0x30' },
    expect: [{ at: '10m' }, { at: '20m', labels: { severity: 'warning', namespace: 'ttsnap', pod: 'ttsnap-worker-3' }, summary: 'ttsnap worker ttsnap-worker-3 has been Pending for 15 minutes' }],
  },
  {
    alert: 'TtsnapWorkerPending',
    what: 'a worker pending for 5 minutes, then running',
    series: { [`kube_pod_status_phase{${GPU_POD},phase="Pending"}`]: '1x5 0x25', [`kube_pod_status_phase{${GPU_POD},phase="Running"}`]: '0x5 1x25' },
    expect: [{ at: '20m' }],
  },
];

/** The promtool unit-test file for `rulesFile`: one test group per scenario. */
export function promtoolTests(rulesFile: string, alerts: readonly AlertRule[], scenarios: readonly Scenario[]): string {
  const annotations = (name: string) => alerts.find((a) => a.alert === name)?.annotations ?? {};
  return stringify({
    rule_files: [rulesFile],
    evaluation_interval: '30s',
    tests: scenarios.map((s) => ({
      name: `${s.alert}: ${s.what}`,
      interval: '1m',
      input_series: Object.entries(s.series).map(([series, values]) => ({ series, values })),
      alert_rule_test: s.expect.map((e) => ({
        eval_time: e.at,
        alertname: s.alert,
        exp_alerts:
          e.summary === undefined
            ? []
            : [{ exp_labels: e.labels ?? {}, exp_annotations: { summary: e.summary, description: annotations(s.alert).description, runbook_url: annotations(s.alert).runbook_url } }],
      })),
    })),
  });
}
