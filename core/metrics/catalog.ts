/**
 * Every metric ttsnap exports: the one list that the coordinator, the workers, the alert rules and the
 * Grafana dashboards agree on. Prometheus conventions: `ttsnap_` prefix, base units (seconds, bytes),
 * counters end in `_total`, labels only with small fixed value sets (never job or candidate ids).
 * Cost figures are in the cost model's unit (TFLOPs unless the user chose another). Per-job signals that alerts
 * need (budget overrun, stall) are gauges of the worst running job, so their label set stays fixed.
 * Besides these, every process exports prom-client's default process metrics (process_*, nodejs_*).
 */
export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly string[];
  /** who exports it */
  readonly process: 'coordinator' | 'worker';
  /**
   * Label values known in advance: these series exist at 0 from the start, so that rate() and an alert's
   * value expression have data before the first event (one label only).
   */
  readonly initial?: readonly string[];
}

const m = (process: MetricSpec['process'], type: MetricType, name: string, help: string, labels: readonly string[] = [], initial?: readonly string[]): MetricSpec => ({
  name,
  type,
  help,
  labels,
  process,
  ...(initial ? { initial } : {}),
});

export const METRICS = {
  // coordinator: budget and candidates
  budgetAllocated: m('coordinator', 'counter', 'ttsnap_budget_allocated_total', 'Budget granted to accepted jobs, in cost units (TFLOPs by default), by kind of work planned', ['kind']),
  budgetSpent: m('coordinator', 'counter', 'ttsnap_budget_spent_total', 'Budget spent on executed work, in cost units (TFLOPs by default), by kind of work', ['kind']),
  candidatesExplored: m('coordinator', 'counter', 'ttsnap_candidates_explored_total', 'Candidates (noise seeds) started'),
  candidatesPruned: m('coordinator', 'counter', 'ttsnap_candidates_pruned_total', 'Candidates dropped at a prune point'),
  candidatesFinished: m('coordinator', 'counter', 'ttsnap_candidates_finished_total', 'Candidates denoised to the last step and scored'),
  // coordinator: stages and scheduling
  jobBudgetRatioMax: m('coordinator', 'gauge', 'ttsnap_job_budget_spent_ratio_max', 'Highest budget spent over budget granted among jobs running or ended in the last 15 minutes (1 = exactly as planned; 0 with no job)'),
  jobIdleSecondsMax: m('coordinator', 'gauge', 'ttsnap_job_idle_seconds_max', 'Longest time any running job has gone without receiving a score (since its start when it has none yet); 0 with no running job'),
  stageDuration: m('coordinator', 'histogram', 'ttsnap_stage_duration_seconds', 'Time from a prompt entering a stage to its prune decision, by stage (prune point index or final)', ['stage']),
  barrierWait: m('coordinator', 'histogram', 'ttsnap_barrier_wait_seconds', "Time a prompt's first score waits for its stage's last score"),
  scoreLatency: m('coordinator', 'histogram', 'ttsnap_score_latency_seconds', 'Time from first asking a worker to advance a candidate to receiving its score on the bus (re-requests do not restart it)'),
  queueDepth: m('coordinator', 'gauge', 'ttsnap_queue_depth', 'Candidate segments waiting for a worker'),
  jobsWaiting: m('coordinator', 'gauge', 'ttsnap_jobs_waiting', "Jobs waiting for a worker: running ones that no registered worker of their pool can take (none registered, all draining or quarantined, or all older than the job's sampling settings), and jobs resumed from the journal before a worker of their pool is back (ListJobs says why)"),
  workerBusyRatio: m('coordinator', 'gauge', 'ttsnap_worker_busy_ratio', 'Fraction of the last interval each worker spent computing, as the coordinator sees it', ['worker']),
  workersUp: m('coordinator', 'gauge', 'ttsnap_workers', 'Workers registered with the coordinator, by state', ['state']),
  latentMoves: m('coordinator', 'counter', 'ttsnap_latent_moves_total', 'Candidates whose latent state moved between workers'),
  latentBytesMoved: m('coordinator', 'counter', 'ttsnap_latent_bytes_moved_total', 'Bytes of latent state moved between workers'),
  recomputedSteps: m('coordinator', 'counter', 'ttsnap_recomputed_steps_total', 'Denoise steps executed again after a worker was lost'),
  unscoredSteps: m('coordinator', 'counter', 'ttsnap_unscored_steps_total', 'Denoise steps lost workers were asked to run for candidates whose scores never came: at most what they ran that no ledger charges (the ledger charges scored work)'),
  jobs: m('coordinator', 'gauge', 'ttsnap_jobs', 'Jobs by state', ['state']),
  previewBytes: m('coordinator', 'gauge', 'ttsnap_preview_bytes', 'PNG bytes of contact-sheet previews the coordinator holds: those of prompts running or finished and not yet fetched (GetPromptPreviews)'),
  jobsCompleted: m('coordinator', 'counter', 'ttsnap_jobs_completed_total', 'Jobs that ended, by final state', ['state'], ['done', 'cancelled', 'failed']),
  grpcErrors: m('coordinator', 'counter', 'ttsnap_grpc_errors_total', 'gRPC calls that failed, by method and status code', ['method', 'code']),
  natsErrors: m('coordinator', 'counter', 'ttsnap_nats_errors_total', 'NATS operations that failed, by operation', ['op']),
  workerFaults: m('coordinator', 'counter', 'ttsnap_worker_faults_total', 'Worker calls that failed on the merits (backend errors; enough in a row quarantine the worker), by worker', ['worker']),
  jetstreamHealthy: m('coordinator', 'gauge', 'ttsnap_jetstream_healthy', "1 when the coordinator's last JetStream check (account info through the API) answered in time, else 0"),
  resultStoreErrors: m('coordinator', 'counter', 'ttsnap_result_store_errors_total', 'Result-store (JetStream object store) operations that failed, by operation', ['op'], ['open', 'put', 'get', 'delete', 'list']),
  // worker
  workerInfo: m('worker', 'gauge', 'ttsnap_worker_info', 'Always 1: what this worker runs (backend, execution provider cpu | cuda | simulated, bundle or trace)', ['backend', 'provider', 'bundle']),
  workerReady: m('worker', 'gauge', 'ttsnap_worker_ready', '1 once the model is loaded and the worker serves; 0 while it loads and while it drains'),
  workerDenoiseSteps: m('worker', 'counter', 'ttsnap_worker_denoise_steps_total', 'Candidate denoise steps executed'),
  workerRewardCalls: m('worker', 'counter', 'ttsnap_worker_reward_calls_total', 'Reward-model calls on single candidates, by reward', ['reward']),
  workerBusySeconds: m('worker', 'counter', 'ttsnap_worker_busy_seconds_total', 'Seconds spent computing (denoise, decode, reward)'),
  workerBatchSize: m('worker', 'histogram', 'ttsnap_worker_batch_size', 'Candidates per denoise batch'),
  workerLiveCandidates: m('worker', 'gauge', 'ttsnap_worker_live_candidates', 'Candidates whose latent state this worker holds'),
  workerScoresPublished: m('worker', 'counter', 'ttsnap_worker_scores_published_total', 'Scores published on the bus'),
  workerNatsErrors: m('worker', 'counter', 'ttsnap_worker_nats_errors_total', 'NATS operations that failed on the worker, by operation', ['op']),
} as const satisfies Record<string, MetricSpec>;

export type MetricKey = keyof typeof METRICS;
