import { afterAll, beforeAll } from 'vitest';
import { TestCluster } from '../integration/runtime/cluster.js';
import { TINY } from './helpers.js';

/** Worker flags of an onnx worker process on the tiny bundle (cpu, one thread). */
export const ONNX_WORKER = ['--backend', 'onnx', '--model', TINY, '--provider', 'cpu', '--threads', '1'];

/**
 * For a describe block: a nats-server, a coordinator process and 2 onnx worker processes (w1, w2) on the tiny
 * bundle, started before its tests and stopped after them.
 */
export function onnxClusterForSuite(): TestCluster {
  const cluster = new TestCluster();
  beforeAll(async () => {
    await cluster.startNats();
    await cluster.startCoordinator();
    // the harness starts trace workers; the later --backend wins, and the trace flags are ignored by onnx
    await cluster.startWorker('w1', 0, 4, ONNX_WORKER);
    await cluster.startWorker('w2', 0, 4, ONNX_WORKER);
    await cluster.waitForWorkers(2);
  }, 90_000);
  afterAll(() => cluster.close());
  return cluster;
}
