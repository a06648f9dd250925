import { NO_LOG } from '../core/log/logger.js';
import { Command } from 'commander';
import { parseInteger } from '../cli/options.js';
import { DEFAULT_BUSY_SCORE_GRID_MS, DEFAULT_SCORE_GRID_MS, WorkerProcess } from '../process/worker-process.js';

/**
 * bench:scale's worker host: K trace workers in one process, each a full WorkerProcess (its own gRPC server,
 * NATS connection and heartbeat), sharing one copy of the trace. Runs until SIGTERM, then closes them all.
 */
const o = new Command('bench:scale-workers')
  .requiredOption('--coordinator <host:port>')
  .requiredOption('--nats <url>')
  .requiredOption('--nats-prefix <prefix>')
  .requiredOption('--base <file>')
  .requiredOption('--narf <file>')
  .requiredOption('--id <prefix>')
  .option('--count <k>', 'workers in this process', '16')
  .option('--step-ms <ms>', 'one denoise step of a batch', '2')
  .option('--max-batch <k>', 'candidates per batch', '8')
  .option('--score-grid-ms <ms>', "the workers' --score-grid-ms", String(DEFAULT_SCORE_GRID_MS))
  .option('--busy-score-grid-ms <ms>', "the workers' --busy-score-grid-ms", String(DEFAULT_BUSY_SCORE_GRID_MS))
  .parse(process.argv)
  .opts<Record<string, string>>();
const count = parseInteger('--count', 1, 256)(String(o.count));
const scoreGridMs = parseInteger('--score-grid-ms', 0, 1000)(String(o.scoreGridMs));
const busyScoreGridMs = parseInteger('--busy-score-grid-ms', 0, 1000)(String(o.busyScoreGridMs));
const workers: WorkerProcess[] = [];
for (let i = 0; i < count; i++) {
  workers.push(
    await WorkerProcess.start({
      backend: 'trace',
      backendOptions: { base: String(o.base), narf: String(o.narf), stepMs: String(o.stepMs), maxBatch: String(o.maxBatch) },
      listen: '127.0.0.1:0',
      coordinator: String(o.coordinator),
      natsUrl: String(o.nats),
      natsPrefix: String(o.natsPrefix),
      id: `${o.id}-${i}`,
      drainMs: 0,
      scoreGridMs,
      busyScoreGridMs,
      log: NO_LOG,
    }),
  );
}
process.stderr.write(`workers ready: ${count}\n`);
await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
await Promise.allSettled(workers.map((w) => w.close()));
