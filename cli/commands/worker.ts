import type { Command } from 'commander';
import { addBackendOptions, backendOptionsFrom } from '../backend-options.js';
import { ValidationError } from '../../core/errors.js';
import { parseHostPort } from '../../core/grpc/address.js';
import { DEFAULT_BUSY_SCORE_GRID_MS, DEFAULT_SCORE_GRID_MS, WorkerProcess } from '../../process/worker-process.js';
import { BACKENDS } from '../../worker/backends/registry.js';
import { parseInteger } from '../options.js';
import { addMetricsListenOptions, addNatsAuthOptions, addTlsOptions } from '../security-options.js';
import { runService, serviceOptions, type ServiceFlags } from '../service.js';

interface WorkerFlags extends ServiceFlags {
  listen: string;
  coordinator: string;
  nats: string;
  natsPrefix: string;
  backend: string;
  id?: string;
  advertise?: string;
  drainTimeoutS: string;
  batchTimeoutS: string;
  scoreGridMs: string;
  busyScoreGridMs: string;
  set: string[];
  [backendFlag: string]: string | string[] | boolean | undefined;
}

export function registerWorker(program: Command): void {
  addMetricsListenOptions(addNatsAuthOptions(addTlsOptions(addBackendOptions(program.command('worker')), 'server')))
    .description('run one worker: owns one accelerator, registers with the coordinator, publishes scores on NATS')
    .requiredOption('--listen <host:port>', 'gRPC address to serve on (port 0 = any free port)')
    .requiredOption('--coordinator <host:port>', 'coordinator gRPC address to register with')
    .requiredOption('--nats <url>', 'NATS server URL for scores (nats://host:4222)')
    .option('--backend <name>', `worker backend: ${Object.keys(BACKENDS).join(' | ')}`, 'trace')
    .option('--reward <name>', 'trace backend: reward name (default from the file name)')
    .option('--set <key=value>', 'any other backend option (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--id <id>', 'worker id (default the advertised address)')
    .option('--advertise <host:port>', 'address the coordinator dials, a name its certificate carries under TLS (default the listen address; its host when listening on 0.0.0.0)')
    .option('--nats-prefix <prefix>', 'subject prefix of the score bus', 'ttsnap')
    .option('--drain-timeout-s <s>', 'on SIGTERM, wait this long for the coordinator to move candidates away', '60')
    .option('--batch-timeout-s <s>', 'batch watchdog: a backend call taking longer marks this worker stuck (its candidates continue elsewhere)', '300')
    .option('--score-grid-ms <ms>', 'publish scores on this grid of the wall clock, so that many workers\' reach the coordinator together (0 = at once)', String(DEFAULT_SCORE_GRID_MS))
    .option('--busy-score-grid-ms <ms>', 'a job\'s scores wait for this coarser grid while that job\'s work queued here lasts past its next point (fewer, larger bursts for the coordinator; the job\'s work goes on meanwhile); with less queued they go on --score-grid-ms (at most --score-grid-ms = no coarser grid)', String(DEFAULT_BUSY_SCORE_GRID_MS))
    .action(async (flags: WorkerFlags) => {
      const listen = parseHostPort(flags.listen, '--listen', true);
      const coordinatorAddr = parseHostPort(flags.coordinator, '--coordinator');
      const drainMs = parseInteger('--drain-timeout-s', 0, 86_400)(flags.drainTimeoutS) * 1000;
      const batchTimeoutMs = parseInteger('--batch-timeout-s', 1, 86_400)(flags.batchTimeoutS) * 1000;
      const scoreGridMs = parseInteger('--score-grid-ms', 0, 1000)(flags.scoreGridMs);
      const busyScoreGridMs = parseInteger('--busy-score-grid-ms', 0, 1000)(flags.busyScoreGridMs);
      const backendOpts: Record<string, string | undefined> = backendOptionsFrom(flags, ['reward']);
      for (const kv of flags.set) {
        const at = kv.indexOf('=');
        if (at < 1) throw new ValidationError('--set', `cannot read '${kv}'`, 'key=value');
        backendOpts[kv.slice(0, at)] = kv.slice(at + 1);
      }
      const advertise = flags.advertise ? parseHostPort(flags.advertise, '--advertise') : undefined;
      const shared = serviceOptions(flags, 'worker');
      const proc = await runService('worker', shared, () =>
        WorkerProcess.start({
          backend: flags.backend,
          backendOptions: backendOpts,
          listen,
          coordinator: coordinatorAddr,
          natsUrl: flags.nats,
          natsPrefix: flags.natsPrefix,
          id: flags.id,
          advertise,
          ...shared,
          drainMs,
          batchTimeoutMs,
          scoreGridMs,
          busyScoreGridMs,
        }),
      );
      if (proc.refusedBySecurity) throw proc.refusedBySecurity;
      // a worker of another protocol version (README: upgrade order); another backend would form its own pool
      if (proc.refused) throw new ValidationError('--coordinator', `the coordinator refused this worker: ${proc.refused}`, 'a coordinator of this worker\'s protocol version');
    });
}
