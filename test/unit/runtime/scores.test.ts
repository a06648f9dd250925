import { afterEach, describe, expect, it } from 'vitest';
import { MemoryScoreBus } from '../../../core/bus/memory.js';
import type { BatchFailure, Score, ScoreBus, ScoreHandler } from '../../../core/bus/score-bus.js';
import { mergeLedgers } from '../../../core/engine/ledger.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import type { MetricKey } from '../../../core/metrics/catalog.js';
import type { MetricsSink } from '../../../core/metrics/sink.js';
import { startEmbedded, type EmbeddedCluster } from '../../../process/embedded.js';
import { worstJobs } from '../../../coordinator/job-gauges.js';
import { BASE, NARF, engineAlone } from '../../integration/runtime/engine-alone.js';

/** A MemoryScoreBus behind a publish that subclasses change. */
abstract class RelayBus implements ScoreBus {
  readonly inner = new MemoryScoreBus();

  abstract publish(scores: readonly Score[]): void;

  subscribe(h: ScoreHandler): () => void {
    return this.inner.subscribe(h);
  }

  publishFailure(f: BatchFailure): void {
    this.inner.publishFailure(f);
  }

  onFailure(h: (f: BatchFailure) => void): () => void {
    return this.inner.onFailure(h);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * A bus that loses the first copy of every 4th score, delivers every other score twice, and adds a score from a
 * worker that does not hold the candidate and one for a step nobody asked for.
 */
class UnreliableBus extends RelayBus {
  private n = 0;
  dropped = 0;
  private readonly seen = new Set<string>();

  publish(scores: readonly Score[]): void {
    const out: Score[] = [];
    for (const s of scores) {
      const key = `${s.job}/${s.prompt}/${s.candidate}/${s.step}/${s.reward}`;
      if (!this.seen.has(key) && this.n++ % 4 === 0) {
        this.seen.add(key);
        this.dropped++;
        continue;
      }
      this.seen.add(key);
      out.push(s, s, { ...s, worker: 'ghost', value: 1e9 }, { ...s, step: s.step + 1, value: 1e9 });
    }
    this.inner.publish(out);
  }
}

/**
 * A bus that goes away after `downAfter` scores and comes back `downMs` later, but still loses every score for
 * `deafMs` after saying it is back: what a subscriber sees when other clients reconnect (and republish) before
 * its own subscription is restored on the server.
 */
class OutageBus extends RelayBus {
  private state: 'up' | 'down' | 'deaf' = 'up';
  private published = 0;
  private outages = 0;
  dropped = 0;
  private readonly reconnectHandlers = new Set<() => void>();

  constructor(private readonly o: { downAfter: number; downMs: number; deafMs: number }) {
    super();
  }

  publish(scores: readonly Score[]): void {
    if (this.outages === 0 && (this.published += scores.length) >= this.o.downAfter) {
      this.outages++;
      this.state = 'down';
      setTimeout(() => {
        this.state = this.o.deafMs > 0 ? 'deaf' : 'up';
        for (const h of this.reconnectHandlers) h();
        setTimeout(() => (this.state = 'up'), this.o.deafMs);
      }, this.o.downMs);
    }
    if (this.state !== 'up') {
      this.dropped += scores.length;
      return;
    }
    this.inner.publish(scores);
  }

  onReconnect(h: () => void): () => void {
    this.reconnectHandlers.add(h);
    return () => this.reconnectHandlers.delete(h);
  }
}

describe('scores on the bus', () => {
  let cluster: EmbeddedCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('lost scores are asked for again after the timeout; duplicates, strangers and wrong steps change nothing', async () => {
    const bus = new UnreliableBus();
    const latencies: number[] = [];
    const metrics: MetricsSink = { inc() {}, set() {}, observe: (key: MetricKey, v: number) => void (key === 'scoreLatency' && latencies.push(v)) };
    cluster = await startEmbedded({
      metrics,
      backend: 'trace',
      backendOptions: { base: BASE, narf: NARF, maxBatch: '4' },
      workers: 2,
      bus,
      coordinator: { scoreTimeoutMs: 100, sweepMs: 25 },
    });
    const prompts = [1, 2, 3];
    const job = cluster.coordinator.submit({ prompts, candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 4 });
    await cluster.coordinator.whenEnded(job.id);
    const expected = engineAlone(prompts, 20, PAPER_SCHEDULE, 4);
    const result = cluster.coordinator.result(job.id);
    expect(bus.dropped).toBeGreaterThan(0);
    expect(job.state).toBe('done');
    expect(result.prompts?.map((p) => p.winner?.candidate)).toEqual(expected.map((e) => e.winner));
    // republished scores cost nothing: the ledger is the plan
    expect(job.ledger()).toEqual(mergeLedgers(expected.map((e) => e.ledger)));
    expect(Object.keys(result.timeline?.worker_busy_s ?? {}).sort()).toEqual(['local-0', 'local-1']);
    // score latency counts from the first request: a score lost once arrives only after a re-request, so at
    // least the 100 ms score timeout after it was first asked for (a clock restarted by the re-request would not)
    expect(latencies.length).toBe(job.ledger().reward_calls.pic);
    expect(latencies.filter((l) => l >= 0.1).length).toBeGreaterThanOrEqual(1);
    // the worst-job gauges: exactly on budget, not idle once ended, forgotten 15 minutes after the end
    const ended = worstJobs([job], job.endedAt, 15 * 60_000);
    expect(ended.idleSeconds).toBe(0);
    expect(ended.budgetRatio).toBeCloseTo(1, 12);
    expect(worstJobs([job], job.endedAt + 15 * 60_000 + 1, 15 * 60_000)).toEqual({ budgetRatio: 0, idleSeconds: 0 });
  });

  it('after a bus outage, scores lost even to the first re-request are asked for again within seconds, not after the score timeout', async () => {
    const bus = new OutageBus({ downAfter: 40, downMs: 100, deafMs: 300 });
    cluster = await startEmbedded({
      backend: 'trace',
      backendOptions: { base: BASE, narf: NARF, maxBatch: '4', stepMs: '2' },
      workers: 2,
      bus,
      coordinator: { scoreTimeoutMs: 600_000, sweepMs: 25 },
    });
    const prompts = [5, 6];
    const job = cluster.coordinator.submit({ prompts, candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 9 });
    const started = Date.now();
    const ended = await Promise.race([cluster.coordinator.whenEnded(job.id).then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 20_000))]);
    expect(bus.dropped).toBeGreaterThan(0);
    expect(ended, `still running ${(Date.now() - started) / 1000} s after submission (score timeout 600 s)`).toBe(true);
    const expected = engineAlone(prompts, 20, PAPER_SCHEDULE, 9);
    expect(cluster.coordinator.result(job.id).prompts?.map((p) => p.winner?.candidate)).toEqual(expected.map((e) => e.winner));
    expect(job.ledger()).toEqual(mergeLedgers(expected.map((e) => e.ledger)));
  }, 30_000);
});
