import { afterAll, beforeAll } from 'vitest';
import { TestCluster } from '../integration/runtime/cluster.js';
import { TINY } from './helpers.js';

/** Worker flags of an onnx worker process on the tiny bundle (cpu, one thread). */
export const ONNX_WORKER = ['--backend', 'onnx', '--model', TINY, '--provider', 'cpu', '--threads', '1'];

/**
 * For a describe block: a nats-server, a coordinator process and onnx worker processes with these ids (default
 * 2: w1, w2) on the tiny bundle, started before its tests and stopped after them.
 */
export function onnxClusterForSuite(workers: readonly string[] = ['w1', 'w2']): TestCluster {
  const cluster = new TestCluster();
  beforeAll(async () => {
    await cluster.startNats();
    await cluster.startCoordinator();
    // the harness starts trace workers; the later --backend wins, and the trace flags are ignored by onnx
    for (const id of workers) await cluster.startWorker(id, 0, 4, ONNX_WORKER);
    await cluster.waitForWorkers(workers.length);
  }, 90_000);
  afterAll(() => cluster.close());
  return cluster;
}
