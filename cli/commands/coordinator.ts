import type { Command } from 'commander';
import { NatsScoreBus } from '../../core/bus/nats.js';
import { NatsResultStore } from '../../core/bus/result-store.js';
import { ValidationError } from '../../core/errors.js';
import { parseHostPort } from '../../core/grpc/address.js';
import { nextSignal } from '../../core/grpc/lifecycle.js';
import { shutdown } from '../../core/grpc/status.js';
import { serveMetrics } from '../../core/metrics/server.js';
import { PromMetricsSink } from '../../core/metrics/sink.js';
import { Coordinator } from '../../coordinator/coordinator.js';
import { startCoordinatorServer } from '../../coordinator/service.js';
import { parseInteger } from '../options.js';

interface CoordinatorFlags {
  listen: string;
  nats: string;
  natsPrefix: string;
  metricsPort?: string;
  scoreTimeoutMs: string;
  workerTimeoutMs: string;
  queueFactor: string;
  drainTimeoutS: string;
}

export function registerCoordinator(program: Command): void {
  program
    .command('coordinator')
    .description('run the coordinator: accepts search jobs over gRPC, drives registered workers, gathers scores from NATS')
    .requiredOption('--listen <host:port>', 'gRPC address to serve on (port 0 = any free port)')
    .requiredOption('--nats <url>', 'NATS server URL for scores (nats://host:4222)')
    .option('--metrics-port <port>', 'serve Prometheus /metrics on this port')
    .option('--nats-prefix <prefix>', 'subject prefix of the score bus', 'ttsnap')
    .option('--score-timeout-ms <ms>', 'ask a worker again for a score missing this long', '10000')
    .option('--worker-timeout-ms <ms>', 'a worker silent this long is lost (its candidates continue elsewhere)', '3000')
    .option('--queue-factor <x>', 'candidates in flight per worker, as a multiple of its max batch', '3')
    .option('--drain-timeout-s <s>', 'on SIGTERM, wait this long for running jobs to finish', '300')
    .action(async (flags: CoordinatorFlags) => {
      const listen = parseHostPort(flags.listen, '--listen', true);
      const metricsPort = flags.metricsPort === undefined ? undefined : parseInteger('--metrics-port', 0, 65_535)(flags.metricsPort);
      const queueFactor = Number(flags.queueFactor);
      if (!(queueFactor >= 1 && queueFactor <= 64)) throw new ValidationError('--queue-factor', `got '${flags.queueFactor}'`, 'a number in [1, 64]');
      const opts = {
        scoreTimeoutMs: parseInteger('--score-timeout-ms', 100, 3_600_000)(flags.scoreTimeoutMs),
        workerTimeoutMs: parseInteger('--worker-timeout-ms', 200, 3_600_000)(flags.workerTimeoutMs),
        queueFactor,
      };
      const drainMs = parseInteger('--drain-timeout-s', 0, 86_400)(flags.drainTimeoutS) * 1000;
      const metrics = new PromMetricsSink('coordinator');
      const bus = await NatsScoreBus.connect({ url: flags.nats, prefix: flags.natsPrefix, name: 'ttsnap-coordinator', onError: (op) => metrics.inc('natsErrors', { op }) });
      const results = await NatsResultStore.open(bus.connection, flags.natsPrefix).catch((err: unknown) => {
        metrics.inc('natsErrors', { op: 'result_store' });
        process.stderr.write(`ttsnap coordinator: no JetStream result store (${err instanceof Error ? err.message : String(err)}); results live in memory only\n`);
        return null;
      });
      const coordinator = new Coordinator(bus, metrics, { ...opts, results });
      const srv = await startCoordinatorServer(coordinator, listen, metrics);
      const metricsServer = metricsPort === undefined ? null : await serveMetrics(metrics, metricsPort);
      const host = listen.replace(/:\d+$/, '');
      process.stderr.write(`ttsnap coordinator listening on ${host}:${srv.port}${metricsServer ? `, metrics on :${metricsServer.port}` : ''}\n`);

      const signal = await nextSignal();
      process.stderr.write(`ttsnap coordinator: ${signal}, draining (new jobs refused, running jobs finish)\n`);
      srv.health.setStatus('', 'NOT_SERVING');
      srv.health.setStatus('ttsnap.v1.Coordinator', 'NOT_SERVING');
      const finished = await coordinator.drain(drainMs);
      // Let watchers read their final events and results before the server goes.
      await shutdown(srv.server, 5000);
      await coordinator.close();
      await bus.close();
      await metricsServer?.close();
      process.stderr.write(`ttsnap coordinator: stopped (${finished ? 'all jobs finished' : 'drain timed out; running jobs cancelled'})\n`);
    });
}
