import type { Command } from 'commander';
import { parseNumberIn } from '../../core/number-range.js';
import { parseHostPort } from '../../core/grpc/address.js';
import { MIN_WORKER_TIMEOUT_MS, REMOTE_QUEUE_FACTOR } from '../../coordinator/coordinator.js';
import { CoordinatorProcess } from '../../process/coordinator-process.js';
import { parseInteger } from '../options.js';
import { addMetricsListenOptions, addNatsAuthOptions, addTlsOptions } from '../security-options.js';
import { runService, serviceOptions, type ServiceFlags } from '../service.js';
import { DEFAULT_MAX_JOBS_PER_CLIENT } from '../../core/security/quota.js';

interface CoordinatorFlags extends ServiceFlags {
  listen: string;
  nats: string;
  natsPrefix: string;
  natsReplicas: string;
  maxJobsPerClient: string;
  scoreTimeoutMs: string;
  workerTimeoutMs: string;
  queueFactor: string;
  soloQueueFactor?: string;
  drainTimeoutS: string;
  resultsTtlDays: string;
  resultsMaxMb: string;
  journalTtlDays: string;
  journalMaxMb: string;
}

export function registerCoordinator(program: Command): void {
  const cmd = program.command('coordinator');
  addMetricsListenOptions(addNatsAuthOptions(addTlsOptions(cmd, 'server')));
  cmd
    .description('run the coordinator: accepts search jobs over gRPC, drives registered workers, gathers scores from NATS')
    .requiredOption('--listen <host:port>', 'gRPC address to serve on (port 0 = any free port)')
    .requiredOption('--nats <url>', 'NATS server URL for scores (nats://host:4222)')
    .option('--nats-prefix <prefix>', 'subject prefix of the score bus', 'ttsnap')
    .option('--nats-replicas <n>', 'copies JetStream keeps of the job journal and the results (3 on a 3-server NATS cluster)', '1')
    .option('--max-jobs-per-client <n>', 'concurrent jobs (and watchers) per client identity; without TLS every caller is one client', String(DEFAULT_MAX_JOBS_PER_CLIENT))
    .option('--score-timeout-ms <ms>', 'ask a worker again for a score missing this long', '10000')
    .option('--worker-timeout-ms <ms>', `a worker silent this long is lost (its candidates continue elsewhere); at least ${MIN_WORKER_TIMEOUT_MS}, three heartbeats`, '3000')
    .option('--queue-factor <x>', 'candidates in flight per worker, as a multiple of its max batch', String(REMOTE_QUEUE_FACTOR))
    .option('--solo-queue-factor <x>', 'the same while one job alone has the workers of its pool and more of its candidates wait than these queues hold: fewer messages per candidate, later stage barriers (default twice --queue-factor; equal to it: never deeper)')
    .option('--drain-timeout-s <s>', 'on SIGTERM, wait this long for running jobs to finish', '300')
    .option('--results-ttl-days <d>', 'keep stored job results this long (JetStream)', '30')
    .option('--results-max-mb <mb>', 'stored results take at most this much; the oldest go first (0 = no cap)', '0')
    .option('--journal-ttl-days <d>', 'keep job journal records this long (a journal is for resuming, not an archive)', '7')
    .option('--journal-max-mb <mb>', 'the job journal takes at most this much; JetStream drops the oldest records (0 = no cap)', '0')
    .action(async (flags: CoordinatorFlags) => {
      const listen = parseHostPort(flags.listen, '--listen', true);
      const maxJobsPerClient = parseInteger('--max-jobs-per-client', 1, 1_000_000)(flags.maxJobsPerClient);
      const queueFactor = parseNumberIn('--queue-factor', flags.queueFactor, { min: 1, max: 64 });
      const soloQueueFactor = flags.soloQueueFactor === undefined ? Math.min(64, 2 * queueFactor) : parseNumberIn('--solo-queue-factor', flags.soloQueueFactor, { min: queueFactor, max: 64 });
      const opts = {
        scoreTimeoutMs: parseInteger('--score-timeout-ms', 100, 3_600_000)(flags.scoreTimeoutMs),
        // shorter than three heartbeats (at least 500 ms apart), healthy workers would count as lost between two
        workerTimeoutMs: parseInteger('--worker-timeout-ms', MIN_WORKER_TIMEOUT_MS, 3_600_000)(flags.workerTimeoutMs),
        queueFactor,
        soloQueueFactor,
      };
      const drainMs = parseInteger('--drain-timeout-s', 0, 86_400)(flags.drainTimeoutS) * 1000;
      const mb = (flag: string, v: string): number | undefined => {
        const n = parseNumberIn(flag, v, { min: 0, max: 1e9 });
        return n > 0 ? Math.round(n * 1024 * 1024) : undefined;
      };
      const resultsMaxBytes = mb('--results-max-mb', flags.resultsMaxMb);
      const journalMaxBytes = mb('--journal-max-mb', flags.journalMaxMb);
      const retention = {
        resultsTtlDays: parseNumberIn('--results-ttl-days', flags.resultsTtlDays, { min: 0, max: 36_500, aboveMin: true }),
        journalTtlDays: parseNumberIn('--journal-ttl-days', flags.journalTtlDays, { min: 0, max: 36_500, aboveMin: true }),
        ...(resultsMaxBytes !== undefined ? { resultsMaxBytes } : {}),
        ...(journalMaxBytes !== undefined ? { journalMaxBytes } : {}),
      };
      const natsReplicas = parseInteger('--nats-replicas', 1, 5)(flags.natsReplicas);
      const shared = serviceOptions(flags, 'coordinator');
      await runService('coordinator', shared, () =>
        CoordinatorProcess.start({ listen, natsUrl: flags.nats, natsPrefix: flags.natsPrefix, natsReplicas, ...shared, ...opts, drainMs, retention, maxJobsPerClient }),
      );
    });
}
