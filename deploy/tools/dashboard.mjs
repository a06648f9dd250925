// The ttsnap Grafana dashboard as data: rows of panels, each a title, a unit and PromQL targets.
// render.mjs turns this into deploy/monitoring/dashboard.json (Grafana schema 39); test/deploy evaluates every
// target's expression against a real Prometheus scraping a real coordinator and workers.
// Every selector carries {namespace=~"$namespace"}: with the All value (.*) it also matches series without the label.
// Per-process series are summed and labelled by `pod` (the PodMonitor/ServiceMonitor target label), never by
// `instance`, which is a pod IP that changes on every restart.

const ns = '{namespace=~"$namespace"}';
const q = (p, hist, by = '') =>
  `histogram_quantile(${p}, sum by (le${by ? `, ${by}` : ''}) (rate(${hist}_bucket${ns}[$__rate_interval])))`;

/** @typedef {{ expr: string, legend: string }} Target */
/** @typedef {{ title: string, unit: string, kind?: 'timeseries' | 'stat', w?: number, description: string, targets: Target[] }} Panel */

/** @type {{ title: string, panels: Panel[] }[]} */
export const ROWS = [
  {
    title: 'Budget',
    panels: [
      {
        title: 'Budget spent vs allocated (cumulative)',
        unit: 'short',
        description: 'Cost units (TFLOPs by default) granted to accepted jobs and spent on executed work, by kind of work.',
        targets: [
          { expr: `sum by (kind) (ttsnap_budget_allocated_total${ns})`, legend: 'allocated {{kind}}' },
          { expr: `sum by (kind) (ttsnap_budget_spent_total${ns})`, legend: 'spent {{kind}}' },
        ],
      },
      {
        title: 'Spent / allocated',
        unit: 'percentunit',
        kind: 'stat',
        w: 6,
        description: 'Above 100% means work was redone (lost workers) or the cost model does not match the models.',
        targets: [{ expr: `sum(ttsnap_budget_spent_total${ns}) / sum(ttsnap_budget_allocated_total${ns})`, legend: 'spent / allocated' }],
      },
      {
        title: 'Spend rate',
        unit: 'short',
        w: 6,
        description: 'Cost units per second, by kind of work.',
        targets: [{ expr: `sum by (kind) (rate(ttsnap_budget_spent_total${ns}[$__rate_interval]))`, legend: '{{kind}}' }],
      },
    ],
  },
  {
    title: 'Candidates and jobs',
    panels: [
      {
        title: 'Candidates explored / pruned / finished per second',
        unit: 'ops',
        description: 'Noise seeds started, dropped at a prune point, and denoised to the end and scored.',
        targets: [
          { expr: `sum(rate(ttsnap_candidates_explored_total${ns}[$__rate_interval]))`, legend: 'explored' },
          { expr: `sum(rate(ttsnap_candidates_pruned_total${ns}[$__rate_interval]))`, legend: 'pruned' },
          { expr: `sum(rate(ttsnap_candidates_finished_total${ns}[$__rate_interval]))`, legend: 'finished' },
        ],
      },
      {
        title: 'Candidates (cumulative)',
        unit: 'short',
        w: 6,
        description: 'Since the coordinator started.',
        targets: [
          { expr: `sum(ttsnap_candidates_explored_total${ns})`, legend: 'explored' },
          { expr: `sum(ttsnap_candidates_pruned_total${ns})`, legend: 'pruned' },
          { expr: `sum(ttsnap_candidates_finished_total${ns})`, legend: 'finished' },
        ],
      },
      {
        title: 'Jobs by state',
        unit: 'short',
        w: 6,
        description: 'Jobs the coordinator holds, by state, and the running ones that no worker of their pool can take (TtsnapJobWaiting fires after 5 minutes; `ttsnap jobs list` says why).',
        targets: [
          { expr: `sum by (state) (ttsnap_jobs${ns})`, legend: '{{state}}' },
          { expr: `sum by (state) (increase(ttsnap_jobs_completed_total${ns}[$__range]))`, legend: 'ended {{state}} (time range)' },
          { expr: `sum(ttsnap_jobs_waiting${ns})`, legend: 'running, waiting for a worker' },
        ],
      },
      {
        title: 'Worst job: time since its last score',
        unit: 's',
        description: 'The running job that has waited longest for a score (TtsnapJobStalled fires above 15 minutes).',
        targets: [{ expr: `max(ttsnap_job_idle_seconds_max${ns})`, legend: 'worst running job' }],
      },
      {
        title: 'Worst job: budget spent / granted',
        unit: 'percentunit',
        description: 'The highest ratio among jobs running or ended in the last 15 minutes (TtsnapBudgetOverrun fires above 105%).',
        targets: [{ expr: `max(ttsnap_job_budget_spent_ratio_max${ns})`, legend: 'worst job' }],
      },
    ],
  },
  {
    title: 'Stages and scheduling',
    panels: [
      {
        title: 'Stage duration p50 / p95',
        unit: 's',
        description: 'Time from a prompt entering a stage to its prune decision, by stage.',
        targets: [
          { expr: q(0.5, 'ttsnap_stage_duration_seconds', 'stage'), legend: 'p50 stage {{stage}}' },
          { expr: q(0.95, 'ttsnap_stage_duration_seconds', 'stage'), legend: 'p95 stage {{stage}}' },
        ],
      },
      {
        title: 'Barrier wait p95',
        unit: 's',
        w: 6,
        description: "Time a prompt's first score waits for its stage's last score.",
        targets: [{ expr: q(0.95, 'ttsnap_barrier_wait_seconds'), legend: 'p95' }],
      },
      {
        title: 'Queue depth',
        unit: 'short',
        w: 6,
        description: 'Candidate segments waiting for a worker (the autoscaling signal).',
        targets: [{ expr: `sum(ttsnap_queue_depth${ns})`, legend: 'queued segments' }],
      },
      {
        title: 'Preview bytes held',
        unit: 'bytes',
        w: 6,
        description: 'PNG bytes of contact-sheet previews the coordinator holds until the client fetches them (search --contact-sheets).',
        targets: [{ expr: `sum(ttsnap_preview_bytes${ns})`, legend: 'held' }],
      },
    ],
  },
  {
    title: 'Workers',
    panels: [
      {
        title: 'Worker utilisation (coordinator view)',
        unit: 'percentunit',
        description: 'Fraction of the last interval each worker spent computing, as the coordinator sees it.',
        targets: [{ expr: `max by (worker) (ttsnap_worker_busy_ratio${ns})`, legend: '{{worker}}' }],
      },
      {
        title: 'Worker busy time (worker view)',
        unit: 'percentunit',
        description: 'Seconds computing per second, measured by each worker process.',
        targets: [{ expr: `sum by (pod) (rate(ttsnap_worker_busy_seconds_total${ns}[$__rate_interval]))`, legend: '{{pod}}' }],
      },
      {
        title: 'Workers by state',
        unit: 'short',
        w: 6,
        description: 'Workers registered with the coordinator.',
        targets: [{ expr: `sum by (state) (ttsnap_workers${ns})`, legend: '{{state}}' }],
      },
      {
        title: 'Denoise steps per second',
        unit: 'ops',
        w: 6,
        description: 'Candidate denoise steps executed, over all workers.',
        targets: [{ expr: `sum(rate(ttsnap_worker_denoise_steps_total${ns}[$__rate_interval]))`, legend: 'steps/s' }],
      },
      {
        title: 'Live candidates per worker',
        unit: 'short',
        w: 6,
        description: 'Candidates whose latent state each worker holds.',
        targets: [{ expr: `sum by (pod) (ttsnap_worker_live_candidates${ns})`, legend: '{{pod}}' }],
      },
      {
        title: 'Mean batch size',
        unit: 'short',
        w: 6,
        description: 'Candidates per denoise batch (NaN while no batch ran in the window).',
        targets: [
          {
            expr: `sum(rate(ttsnap_worker_batch_size_sum${ns}[$__rate_interval])) / sum(rate(ttsnap_worker_batch_size_count${ns}[$__rate_interval]))`,
            legend: 'mean batch',
          },
        ],
      },
    ],
  },
  {
    title: 'Scores and data movement',
    panels: [
      {
        title: 'Score latency p50 / p95 / p99',
        unit: 's',
        description: 'Time from asking a worker to advance a candidate to receiving its score on the bus.',
        targets: [
          { expr: q(0.5, 'ttsnap_score_latency_seconds'), legend: 'p50' },
          { expr: q(0.95, 'ttsnap_score_latency_seconds'), legend: 'p95' },
          { expr: q(0.99, 'ttsnap_score_latency_seconds'), legend: 'p99' },
        ],
      },
      {
        title: 'Latent bytes moved per second',
        unit: 'Bps',
        w: 6,
        description: 'Latent state moved between workers to rebalance survivors.',
        targets: [{ expr: `sum(rate(ttsnap_latent_bytes_moved_total${ns}[$__rate_interval]))`, legend: 'bytes/s' }],
      },
      {
        title: 'Latent moves and recomputed steps',
        unit: 'short',
        w: 6,
        description: 'Cumulative candidates moved between workers, denoise steps redone after a worker was lost, and the steps lost workers were asked to run and never scored (at most what they ran that no ledger charges).',
        targets: [
          { expr: `sum(ttsnap_latent_moves_total${ns})`, legend: 'moves' },
          { expr: `sum(ttsnap_latent_bytes_moved_total${ns})`, legend: 'bytes moved' },
          { expr: `sum(ttsnap_recomputed_steps_total${ns})`, legend: 'recomputed steps' },
          { expr: `sum(ttsnap_unscored_steps_total${ns})`, legend: 'unscored steps (lost workers, at most)' },
        ],
      },
      {
        title: 'gRPC and NATS errors per second',
        unit: 'ops',
        w: 12,
        // Labelled error counters have no series until the first error, so "no series" reads as 0 here.
        description: 'Failed gRPC calls (coordinator) and NATS operations (coordinator and workers); 0 when none failed.',
        targets: [
          { expr: `sum(rate(ttsnap_grpc_errors_total${ns}[$__rate_interval])) or on() vector(0)`, legend: 'gRPC' },
          { expr: `sum(rate(ttsnap_nats_errors_total${ns}[$__rate_interval])) or on() vector(0)`, legend: 'NATS (coordinator)' },
          { expr: `sum(rate(ttsnap_worker_nats_errors_total${ns}[$__rate_interval])) or on() vector(0)`, legend: 'NATS (workers)' },
        ],
      },
      {
        title: 'Scores published per second',
        unit: 'ops',
        w: 6,
        description: 'Scores the workers put on the bus.',
        targets: [{ expr: `sum(rate(ttsnap_worker_scores_published_total${ns}[$__rate_interval]))`, legend: 'scores/s' }],
      },
      {
        title: 'Result-store errors',
        unit: 'short',
        w: 6,
        description: 'JetStream object-store operations on job results that failed, by operation, in the time range.',
        targets: [{ expr: `sum by (op) (increase(ttsnap_result_store_errors_total${ns}[$__range]))`, legend: '{{op}}' }],
      },
    ],
  },
  {
    title: 'Process health',
    panels: [
      {
        title: 'Resident memory',
        unit: 'bytes',
        description: 'RSS of every coordinator and worker process (a worker holds its models and live latents).',
        targets: [{ expr: `sum by (pod) (process_resident_memory_bytes{namespace=~"$namespace", job=~"(.*/)?ttsnap-.*"})`, legend: '{{pod}}' }],
      },
      {
        title: 'CPU',
        unit: 'percentunit',
        description: 'CPU seconds per second of each process (the coordinator is single-threaded: near 1 means saturated).',
        targets: [{ expr: `sum by (pod) (rate(process_cpu_seconds_total{namespace=~"$namespace", job=~"(.*/)?ttsnap-.*"}[$__rate_interval]))`, legend: '{{pod}}' }],
      },
      {
        title: 'Event-loop lag p99',
        unit: 's',
        description: 'How late timers fire: a blocked event loop delays gRPC answers, heartbeats and score handling.',
        targets: [{ expr: `max by (pod) (nodejs_eventloop_lag_p99_seconds{namespace=~"$namespace", job=~"(.*/)?ttsnap-.*"})`, legend: '{{pod}}' }],
      },
      {
        title: 'Garbage collection',
        unit: 's',
        description: 'Seconds per second spent in garbage collection, by process.',
        targets: [{ expr: `sum by (pod) (rate(nodejs_gc_duration_seconds_sum{namespace=~"$namespace", job=~"(.*/)?ttsnap-.*"}[$__rate_interval]))`, legend: 'GC {{pod}}' }],
      },
      {
        title: 'Process age',
        unit: 's',
        description: 'Seconds since each process started: a drop is a restart (TtsnapCoordinatorRestarted for the coordinator).',
        targets: [{ expr: `max by (pod) (time() - process_start_time_seconds{namespace=~"$namespace", job=~"(.*/)?ttsnap-.*"})`, legend: '{{pod}}' }],
      },
      {
        title: 'Workers by provider',
        unit: 'short',
        description: 'Workers by backend and execution provider (cuda, cpu, simulated): a GPU worker on cpu is an alert.',
        targets: [{ expr: `count by (backend, provider) (ttsnap_worker_info${ns})`, legend: '{{backend}} on {{provider}}' }],
      },
    ],
  },
  {
    title: 'NATS and JetStream',
    panels: [
      {
        title: 'JetStream answers the coordinator',
        unit: 'short',
        kind: 'stat',
        w: 6,
        description: "1 when the coordinator's last JetStream check answered within 5 s (TtsnapJetStreamUnhealthy below 1).",
        targets: [{ expr: `min(ttsnap_jetstream_healthy${ns})`, legend: 'healthy' }],
      },
      {
        title: 'NATS connections',
        unit: 'short',
        w: 6,
        description: 'Client connections per NATS server (the exporter sidecar, -prefix=nats).',
        targets: [{ expr: `sum by (pod) (nats_varz_connections${ns})`, legend: '{{pod}}' }],
      },
      {
        title: 'NATS messages per second',
        unit: 'ops',
        description: 'Messages in and out per NATS server: scores, job journal and results.',
        targets: [
          { expr: `sum by (pod) (rate(nats_varz_in_msgs${ns}[$__rate_interval]))`, legend: 'in {{pod}}' },
          { expr: `sum by (pod) (rate(nats_varz_out_msgs${ns}[$__rate_interval]))`, legend: 'out {{pod}}' },
        ],
      },
      {
        title: 'NATS memory and slow consumers',
        unit: 'short',
        description: 'Server memory (bytes) and slow consumers (clients that cannot keep up; scores to them are dropped).',
        targets: [
          { expr: `sum by (pod) (nats_varz_mem${ns})`, legend: 'mem {{pod}}' },
          { expr: `sum by (pod) (nats_varz_slow_consumers${ns})`, legend: 'slow consumers {{pod}}' },
        ],
      },
    ],
  },
];
