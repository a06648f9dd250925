import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import type { Command } from 'commander';
import { addBackendOptions, backendOptionsFrom } from '../backend-options.js';
import { NatsScoreBus } from '../../core/bus/nats.js';
import { ValidationError } from '../../core/errors.js';
import { parseHostPort } from '../../core/grpc/address.js';
import { nextSignal } from '../../core/grpc/lifecycle.js';
import { channelOptions, coordinatorProto, MAX_COORDINATOR_MESSAGE } from '../../core/grpc/load.js';
import { shutdown } from '../../core/grpc/status.js';
import { serveMetrics } from '../../core/metrics/server.js';
import { PromMetricsSink } from '../../core/metrics/sink.js';
import { createBackend, BACKENDS } from '../../worker/backends/registry.js';
import { infoToProto } from '../../worker/info.js';
import { WorkerRuntime } from '../../worker/runtime.js';
import { startWorkerServer } from '../../worker/server.js';
import { parseInteger } from '../options.js';

interface WorkerFlags {
  listen: string;
  coordinator: string;
  nats: string;
  natsPrefix: string;
  backend: string;
  id?: string;
  advertise?: string;
  metricsPort?: string;
  drainTimeoutS: string;
  set: string[];
  [backendFlag: string]: string | string[] | boolean | undefined;
}

export function registerWorker(program: Command): void {
  addBackendOptions(program.command('worker'))
    .description('run one worker: owns one accelerator, registers with the coordinator, publishes scores on NATS')
    .requiredOption('--listen <host:port>', 'gRPC address to serve on (port 0 = any free port)')
    .requiredOption('--coordinator <host:port>', 'coordinator gRPC address to register with')
    .requiredOption('--nats <url>', 'NATS server URL for scores (nats://host:4222)')
    .option('--backend <name>', `worker backend: ${Object.keys(BACKENDS).join(' | ')}`, 'trace')
    .option('--reward <name>', 'trace backend: reward name (default from the file name)')
    .option('--set <key=value>', 'any other backend option (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--id <id>', 'worker id (default the advertised address)')
    .option('--advertise <host:port>', 'address the coordinator dials (default the listen address; its host when listening on 0.0.0.0)')
    .option('--metrics-port <port>', 'serve Prometheus /metrics on this port')
    .option('--nats-prefix <prefix>', 'subject prefix of the score bus', 'ttsnap')
    .option('--drain-timeout-s <s>', 'on SIGTERM, wait this long for the coordinator to move candidates away', '60')
    .action(async (flags: WorkerFlags) => {
      const listen = parseHostPort(flags.listen, '--listen', true);
      const coordinatorAddr = parseHostPort(flags.coordinator, '--coordinator');
      const drainMs = parseInteger('--drain-timeout-s', 0, 86_400)(flags.drainTimeoutS) * 1000;
      const metricsPort = flags.metricsPort === undefined ? undefined : parseInteger('--metrics-port', 0, 65_535)(flags.metricsPort);
      const backendOpts: Record<string, string | undefined> = backendOptionsFrom(flags, ['reward']);
      for (const kv of flags.set) {
        const at = kv.indexOf('=');
        if (at < 1) throw new ValidationError('--set', `cannot read '${kv}'`, 'key=value');
        backendOpts[kv.slice(0, at)] = kv.slice(at + 1);
      }
      const backend = await createBackend(flags.backend, backendOpts);
      const metrics = new PromMetricsSink('worker');
      const bus = await NatsScoreBus.connect({ url: flags.nats, prefix: flags.natsPrefix, name: 'ttsnap-worker', onError: (op) => metrics.inc('workerNatsErrors', { op }) });
      // Named once the server has bound (with port 0 the advertised address is known only then).
      const runtime = new WorkerRuntime({ id: flags.id ?? 'pending', backend, bus, metrics });
      const srv = await startWorkerServer(runtime, listen, metrics);
      const [host] = listen.split(/:(?=\d+$)/) as [string];
      const advertise = flags.advertise ? parseHostPort(flags.advertise, '--advertise') : `${host === '0.0.0.0' || host === '[::]' ? hostname() : host}:${srv.port}`;
      const id = flags.id ?? advertise;
      runtime.assignId(id);
      const metricsServer = metricsPort === undefined ? null : await serveMetrics(metrics, metricsPort);
      process.stderr.write(`ttsnap worker ${id} listening on ${host}:${srv.port} (backend ${backend.info.backend}, ${backend.info.model})${metricsServer ? `, metrics on :${metricsServer.port}` : ''}\n`);

      const Ctor = coordinatorProto().ttsnap.v1.Coordinator;
      const coord = new Ctor(coordinatorAddr, grpc.credentials.createInsecure(), channelOptions(MAX_COORDINATOR_MESSAGE));
      let stopped = false;
      let warned = false;
      let refused: string | null = null;
      let timer: NodeJS.Timeout | undefined;
      const register = (): void => {
        const req = { worker: id, address: advertise, info: infoToProto(backend.info), draining: runtime.isDraining, live: runtime.liveCandidates };
        coord.RegisterWorker(req, { deadline: Date.now() + 3000 }, (err, res) => {
          if (err && !warned) {
            warned = true;
            process.stderr.write(`ttsnap worker: cannot reach the coordinator at ${coordinatorAddr} (${err.details}); retrying\n`);
          }
          if (!err) warned = false;
          if (res && !res.accepted) {
            refused = res.reason;
            process.kill(process.pid, 'SIGTERM');
            return;
          }
          if (!stopped) timer = setTimeout(register, res?.heartbeat_ms || 500);
        });
      };
      register();

      const signal = await nextSignal();
      process.stderr.write(`ttsnap worker ${id}: ${signal}, draining\n`);
      runtime.startDrain();
      srv.health.setStatus('', 'NOT_SERVING');
      clearTimeout(timer);
      register(); // tells the coordinator at once, then keeps heartbeating as draining
      const until = Date.now() + drainMs;
      while (!refused && runtime.liveCandidates > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      await runtime.idle();
      stopped = true;
      clearTimeout(timer);
      await bus.flush().catch(() => undefined);
      await shutdown(srv.server, 2000);
      coord.close();
      await runtime.close();
      await bus.close();
      await metricsServer?.close();
      process.stderr.write(`ttsnap worker ${id}: stopped (${runtime.liveCandidates} candidates left)\n`);
      if (refused) throw new ValidationError('--backend', `the coordinator refused this worker: ${refused}`, 'a backend and model matching the other workers');
    });
}
