import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpGet, startCli, startNats, waitFor, type Proc } from '../../support/procs.js';
import { CoordinatorGrpcClient } from '../../../coordinator/client.js';
import { BASE, NARF } from './engine-alone.js';

/** Everything one test starts, closed in one call. */
export class TestCluster {
  readonly procs: Proc[] = [];
  readonly dirs: string[] = [];
  natsUrl = '';
  coordinatorAddr = '';
  metricsPort = 0;
  readonly prefix = `t${process.pid}x${Math.floor(Math.random() * 1e6)}`;
  /** the trace files trace workers replay (the shared flux_pic pair unless a test sets its own) */
  traceFiles = { base: BASE, narf: NARF };
  /** the running nats-server (restartNats replaces it) */
  nats: Proc | null = null;
  private natsStore = '';

  /** nats-server with JetStream; `maxPayload` lowers its message cap (tests of chunked storage) */
  async startNats(o: { maxPayload?: number } = {}): Promise<void> {
    this.natsStore = mkdtempSync(join(tmpdir(), 'ttsnap-nats-'));
    this.dirs.push(this.natsStore);
    const { proc, url } = await startNats(this.natsStore, o);
    this.procs.push(proc);
    this.nats = proc;
    this.natsUrl = url;
  }

  /** Kills nats-server (SIGKILL), waits `downMs`, and starts it again on the same port and JetStream store. */
  async restartNats(downMs: number): Promise<void> {
    this.nats?.child.kill('SIGKILL');
    await this.nats?.exited;
    await new Promise((r) => setTimeout(r, downMs));
    const { proc } = await startNats(this.natsStore, { port: Number(new URL(this.natsUrl).port) });
    this.procs.push(proc);
    this.nats = proc;
  }

  async startCoordinator(extra: string[] = [], listen = '127.0.0.1:0'): Promise<Proc> {
    const p = startCli('coordinator', ['coordinator', '--listen', listen, '--nats', this.natsUrl, '--nats-prefix', this.prefix, '--metrics-port', '0', '--worker-timeout-ms', '1500', ...extra]);
    this.procs.push(p);
    // the coordinator's JSON log line (stderr is not a terminal here)
    const m = await p.waitForStderr(/"listen":"(\S+?:\d+)","metricsPort":(\d+),"msg":"coordinator listening"/);
    this.coordinatorAddr = m[1] as string;
    this.metricsPort = Number(m[2]);
    return p;
  }

  async startWorker(id: string, stepMs: number, maxBatch = 4, extra: string[] = []): Promise<Proc> {
    const p = startCli(id, [
      'worker', '--listen', '127.0.0.1:0', '--coordinator', this.coordinatorAddr, '--nats', this.natsUrl, '--nats-prefix', this.prefix,
      '--backend', 'trace', '--base', this.traceFiles.base, '--narf', this.traceFiles.narf, '--step-ms', String(stepMs), '--max-batch', String(maxBatch), '--id', id, ...extra,
    ]);
    this.procs.push(p);
    await p.waitForStderr(/"msg":"worker serving"/);
    return p;
  }

  /** nats-server, a coordinator and trace workers with these ids, all registered: the usual test cluster. */
  async startAll(ids: readonly string[], stepMs: number, maxBatch = 4, workerExtra: string[] = []): Promise<{ coordinator: Proc; workers: Proc[] }> {
    await this.startNats();
    const coordinator = await this.startCoordinator();
    const workers = await Promise.all(ids.map((id) => this.startWorker(id, stepMs, maxBatch, workerExtra)));
    await this.waitForWorkers(ids.length);
    return { coordinator, workers };
  }

  /** Polls the coordinator's /metrics until `ttsnap_workers{state="ready"}` reaches n. */
  async waitForWorkers(n: number, timeoutMs = 20_000): Promise<void> {
    await waitFor(`${n} workers registered`, async () => {
      const m = /ttsnap_workers\{state="ready"\} (\d+)/.exec((await httpGet(`http://127.0.0.1:${this.metricsPort}/metrics`))?.body ?? '');
      return m && Number(m[1]) >= n ? true : undefined;
    }, timeoutMs, 100);
  }

  /** Polls ListJobs until the newest job has finished `n` prompts (or more); returns how many it had. */
  async waitForPromptsDone(n: number, timeoutMs = 60_000): Promise<number> {
    const probe = new CoordinatorGrpcClient(this.coordinatorAddr);
    try {
      return await waitFor(`${n} prompts done`, async () => {
        const [job] = await probe.list(1);
        return job && job.prompts_done >= n ? job.prompts_done : undefined;
      }, timeoutMs, 50);
    } finally {
      probe.close();
    }
  }

  async close(): Promise<void> {
    for (const p of this.procs.reverse()) {
      if (p.running) p.child.kill('SIGKILL');
      await p.exited;
    }
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}
