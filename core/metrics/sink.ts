import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { BucketHistogram } from './bucket-histogram.js';
import { METRICS, type MetricKey, type MetricSpec } from './catalog.js';

export type Labels = Readonly<Record<string, string>>;

/** Where the runtime reports metrics; names come from the catalog only (keys, never strings). */
export interface MetricsSink {
  inc(key: MetricKey, labels?: Labels, value?: number): void;
  set(key: MetricKey, value: number, labels?: Labels): void;
  observe(key: MetricKey, value: number, labels?: Labels): void;
}

/** Discards everything: tests, benchmarks, embedded runs without --metrics-port. */
export const NO_METRICS: MetricsSink = { inc() {}, set() {}, observe() {} };

// Buckets for the few histograms that are not in seconds.
const BUCKETS: Partial<Record<MetricKey, number[]>> = {
  workerBatchSize: [1, 2, 4, 8, 16, 32, 64, 128],
};
// From a millisecond (trace backend, tiny model) to an hour (a real model's stage at a large N): a score of a
// large model arrives after minutes, and a quantile beyond the last finite bucket only says "more than that".
const SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

type PromMetric = Counter | Gauge | Histogram | BucketHistogram;

/**
 * prom-client implementation: registers, in its own Registry, every catalog metric of one process kind
 * (coordinator or worker) and prom-client's default process metrics (CPU, RSS, heap, GC, event-loop lag, open
 * fds, start time). Reporting a metric of the other kind is a programming error and throws. A histogram without
 * labels is a BucketHistogram, outside the Registry (render() writes it after the Registry's metrics): the
 * coordinator observes one for every score.
 */
export class PromMetricsSink implements MetricsSink {
  readonly registry = new Registry();
  private readonly metrics = new Map<MetricKey, PromMetric>();

  constructor(process: MetricSpec['process'], o: { processMetrics?: boolean } = {}) {
    // event-loop lag sampled every 10 ms by default; 50 ms costs nothing and still shows a blocked loop
    if (o.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 50 });
    for (const [key, spec] of Object.entries(METRICS) as [MetricKey, MetricSpec][]) {
      if (spec.process !== process) continue;
      const common = { name: spec.name, help: spec.help, labelNames: [...spec.labels], registers: [this.registry] };
      const buckets = BUCKETS[key] ?? SECONDS;
      const metric =
        spec.type === 'counter'
          ? new Counter(common)
          : spec.type === 'gauge'
            ? new Gauge(common)
            : spec.labels.length === 0
              ? new BucketHistogram(spec.name, spec.help, buckets)
              : new Histogram({ ...common, buckets });
      this.metrics.set(key, metric);
      const [label] = spec.labels;
      if (label && spec.initial && (metric instanceof Counter || metric instanceof Gauge)) for (const v of spec.initial) metric.inc({ [label]: v }, 0);
    }
  }

  inc(key: MetricKey, labels: Labels = {}, value = 1): void {
    (this.get(key) as Counter).inc(labels, value);
  }

  set(key: MetricKey, value: number, labels: Labels = {}): void {
    (this.get(key) as Gauge).set(labels, value);
  }

  observe(key: MetricKey, value: number, labels?: Labels): void {
    const m = this.get(key);
    if (m instanceof BucketHistogram) {
      if (labels && Object.keys(labels).length > 0) throw new Error(`metric ${key} has no labels, got ${Object.keys(labels).join(', ')}`);
      m.observe(value);
    } else (m as Histogram).observe(labels ?? {}, value);
  }

  /** Text exposition format for GET /metrics: the Registry's metrics, then the histograms kept outside it. */
  async render(): Promise<{ contentType: string; body: string }> {
    const own = [...this.metrics.values()].filter((m) => m instanceof BucketHistogram).map((m) => m.text());
    const registry = (await this.registry.metrics()).trimEnd();
    return { contentType: this.registry.contentType, body: `${[registry, ...own].filter((t) => t.length > 0).join('\n\n')}\n` };
  }

  private get(key: MetricKey): PromMetric {
    const m = this.metrics.get(key);
    if (!m) throw new Error(`metric ${key} is not exported by this process`);
    return m;
  }
}
