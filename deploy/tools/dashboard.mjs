// The ttsnap Grafana dashboard as data: rows of panels, each a title, a unit and PromQL targets.
// render.mjs turns this into deploy/monitoring/dashboard.json (Grafana schema 39); test/deploy evaluates every
// target's expression against a real Prometheus scraping a real coordinator and workers.
// Every selector carries {namespace=~"$namespace"}: with the All value (.*) it also matches series without the label.

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
        description: 'Jobs the coordinator holds, by state.',
        targets: [
          { expr: `sum by (state) (ttsnap_jobs${ns})`, legend: '{{state}}' },
          { expr: `sum by (state) (increase(ttsnap_jobs_completed_total${ns}[$__range]))`, legend: 'ended {{state}} (time range)' },
        ],
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
        targets: [{ expr: `sum by (instance) (rate(ttsnap_worker_busy_seconds_total${ns}[$__rate_interval]))`, legend: '{{instance}}' }],
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
        targets: [{ expr: `sum by (instance) (ttsnap_worker_live_candidates${ns})`, legend: '{{instance}}' }],
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
        description: 'Cumulative candidates moved between workers, and denoise steps redone after a worker was lost.',
        targets: [
          { expr: `sum(ttsnap_latent_moves_total${ns})`, legend: 'moves' },
          { expr: `sum(ttsnap_latent_bytes_moved_total${ns})`, legend: 'bytes moved' },
          { expr: `sum(ttsnap_recomputed_steps_total${ns})`, legend: 'recomputed steps' },
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
    ],
  },
];
