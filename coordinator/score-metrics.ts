import type { MetricsSink } from '../core/metrics/sink.js';

const DENOISE = { kind: 'denoise' } as const;
const REWARD = { kind: 'reward' } as const;

/**
 * The metrics of accepted scores (latency, budget spent), gathered while one message's scores are applied and
 * reported together at the end of that turn (a microtask): a counter update per score cost the coordinator
 * more than the score's own bookkeeping. Counters get the sum, the latency histogram every value, as before.
 */
export class ScoreMetrics {
  private latencies: number[] = [];
  private denoise = 0;
  private reward = 0;
  private queued = false;

  constructor(private readonly metrics: MetricsSink) {}

  /** One accepted score: its latency in seconds, and the denoise and reward budget it spent. */
  add(latencyS: number, denoise: number, reward: number): void {
    this.latencies.push(latencyS);
    this.denoise += denoise;
    this.reward += reward;
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => this.flush());
  }

  /** Reports what was gathered (the microtask does; idempotent). */
  flush(): void {
    this.queued = false;
    const { latencies, denoise, reward } = this;
    if (latencies.length === 0) return;
    this.latencies = [];
    this.denoise = 0;
    this.reward = 0;
    for (const s of latencies) this.metrics.observe('scoreLatency', s);
    this.metrics.inc('budgetSpent', DENOISE, denoise);
    this.metrics.inc('budgetSpent', REWARD, reward);
  }
}
