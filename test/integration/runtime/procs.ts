import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE, NARF } from './engine-alone.js';

export const CLI = new URL('../../../dist/cli/main.js', import.meta.url).pathname;
const NATS_SERVER = '/usr/sbin/nats-server';

/** A child process whose stderr is kept (for diagnostics and for the lines announcing ports). */
export interface Proc {
  readonly child: ChildProcess;
  readonly name: string;
  stderr: string;
  /** resolves with the exit code (or the signal name) */
  readonly exited: Promise<number | string>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function start(name: string, cmd: string, args: string[]): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const proc: Proc = {
    child,
    name,
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? -1))),
  };
  child.stderr?.on('data', (d: Buffer) => (proc.stderr += d.toString()));
  child.stdout?.on('data', () => {});
  return proc;
}

/** Waits until `re` matches the process's stderr; returns the match. */
export async function waitFor(proc: Proc, re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const m = re.exec(proc.stderr);
    if (m) return m;
    if (proc.child.exitCode !== null || Date.now() > until) throw new Error(`${proc.name}: no ${re} in stderr:\n${proc.stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Everything one test starts, closed in one call. */
export class TestCluster {
  readonly procs: Proc[] = [];
  readonly dirs: string[] = [];
  natsUrl = '';
  coordinatorAddr = '';
  metricsPort = 0;
  readonly prefix = `t${process.pid}x${Math.floor(Math.random() * 1e6)}`;

  async startNats(): Promise<void> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'ttsnap-nats-'));
    this.dirs.push(dir);
    const p = start('nats-server', NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir]);
    this.procs.push(p);
    await waitFor(p, /Server is ready/);
    this.natsUrl = `nats://127.0.0.1:${port}`;
  }

  async startCoordinator(extra: string[] = []): Promise<Proc> {
    const p = start('coordinator', process.execPath, [CLI, 'coordinator', '--listen', '127.0.0.1:0', '--nats', this.natsUrl, '--nats-prefix', this.prefix, '--metrics-port', '0', '--worker-timeout-ms', '1500', ...extra]);
    this.procs.push(p);
    const m = await waitFor(p, /listening on (\S+?:\d+), metrics on :(\d+)/);
    this.coordinatorAddr = m[1] as string;
    this.metricsPort = Number(m[2]);
    return p;
  }

  async startWorker(id: string, stepMs: number, maxBatch = 4, extra: string[] = []): Promise<Proc> {
    const p = start(id, process.execPath, [
      CLI, 'worker', '--listen', '127.0.0.1:0', '--coordinator', this.coordinatorAddr, '--nats', this.natsUrl, '--nats-prefix', this.prefix,
      '--backend', 'trace', '--base', BASE, '--narf', NARF, '--step-ms', String(stepMs), '--max-batch', String(maxBatch), '--id', id, ...extra,
    ]);
    this.procs.push(p);
    await waitFor(p, /listening on/);
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
    const until = Date.now() + timeoutMs;
    for (;;) {
      const text = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`).then((r) => r.text()).catch(() => '');
      const m = /ttsnap_workers\{state="ready"\} (\d+)/.exec(text);
      if (m && Number(m[1]) >= n) return;
      if (Date.now() > until) throw new Error(`only ${m?.[1] ?? 0} of ${n} workers registered`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async close(): Promise<void> {
    for (const p of this.procs.reverse()) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p.exited;
    }
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}
