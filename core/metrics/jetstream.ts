import type { NatsConnection } from 'nats';
import type { MetricsSink } from './sink.js';

/**
 * Sets ttsnap_jetstream_healthy every `everyMs`: 1 when JetStream's API answers an account-info request within
 * `timeoutMs`, 0 when it errs or times out (no meta leader, storage full, server gone). The coordinator journals
 * results there, so this is its own view of the store it depends on. Returns the stop function.
 */
export function watchJetStream(nc: NatsConnection, metrics: MetricsSink, everyMs = 10_000, timeoutMs = 5_000): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const check = async (): Promise<void> => {
    let healthy = 0;
    try {
      const jsm = await nc.jetstreamManager({ timeout: timeoutMs });
      await jsm.getAccountInfo();
      healthy = 1;
    } catch {
      // unhealthy: the gauge says so; the reason is in NATS' own logs and the exporter's metrics
    }
    if (stopped) return;
    metrics.set('jetstreamHealthy', healthy);
    timer = setTimeout(() => void check(), everyMs);
    timer.unref();
  };
  metrics.set('jetstreamHealthy', 0);
  void check();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
