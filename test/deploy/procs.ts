/**
 * Real servers for the integration test, each on a free loopback port with its own temp dir: nats-server with
 * JetStream, Prometheus with a generated config, and ttsnap's own commands. Every process keeps the tail of its
 * output for failure messages and is stopped (SIGTERM, then SIGKILL after a grace period) by `stop`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every `everyMs` until it returns a value; throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}

/** GET a URL: status and body, or undefined when nothing answers. */
export async function httpGet(url: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}

/** A child process with the last 8 KB of its output. */
export class Proc {
  private tail = '';
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    cmd: string,
    args: readonly string[],
    cwd?: string,
  ) {
    this.child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer) => {
      this.tail = (this.tail + b.toString()).slice(-8192);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => resolve(code));
      this.child.once('error', (err) => {
        keep(Buffer.from(`spawn failed: ${err.message}`));
        resolve(null);
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  output(): string {
    return `--- ${this.name} ---\n${this.tail}`;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Waits for `ready`; on failure stops the process (nothing leaks) and rethrows with its output. */
async function readyOrStop(proc: Proc, ready: () => Promise<unknown>): Promise<void> {
  try {
    await ready();
  } catch (err) {
    await proc.stop(1_000);
    throw new Error(`${(err as Error).message}\n${proc.output()}`);
  }
}

/** nats-server with JetStream on a free port, store in `dir`; resolves once its monitor says healthy. */
export async function startNats(dir: string): Promise<{ proc: Proc; url: string }> {
  mkdirSync(dir, { recursive: true });
  const [port, monitor] = [await freePort(), await freePort()];
  const proc = new Proc('nats-server', 'nats-server', ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-js', '-sd', dir]);
  await readyOrStop(proc, () => waitFor('nats-server /healthz', async () => ((await httpGet(`http://127.0.0.1:${monitor}/healthz?js-enabled-only=true`))?.status === 200 ? true : undefined), 15_000));
  return { proc, url: `nats://127.0.0.1:${port}` };
}

export interface ScrapeJob {
  job: string;
  targets: string[];
}

/**
 * Prometheus on a free loopback port scraping `jobs` every second (label namespace="ttsnap", as in the cluster)
 * and loading `ruleFiles`; resolves once /-/ready answers.
 */
export async function startPrometheus(dir: string, jobs: readonly ScrapeJob[], ruleFiles: readonly string[]): Promise<{ proc: Proc; url: string }> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
    rule_files: ruleFiles,
    scrape_configs: jobs.map((j) => ({ job_name: j.job, static_configs: [{ targets: j.targets, labels: { namespace: 'ttsnap' } }] })),
  };
  const file = join(dir, 'prometheus.yml');
  writeFileSync(file, JSON.stringify(config, null, 2)); // JSON is YAML
  const proc = new Proc('prometheus', 'prometheus', [
    `--config.file=${file}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
  const url = `http://127.0.0.1:${port}`;
  await readyOrStop(proc, () => waitFor('prometheus /-/ready', async () => ((await httpGet(`${url}/-/ready`))?.status === 200 ? true : undefined), 30_000));
  return { proc, url };
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query through Prometheus' HTTP API; throws on a query error (bad PromQL). */
export async function promQuery(url: string, expr: string): Promise<PromSample[]> {
  const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: PromSample[] | [number, string] } };
  if (body.status !== 'success' || !body.data) throw new Error(`query failed: ${body.error ?? res.status}: ${expr}`);
  // a scalar result (e.g. a bare number) is one sample without labels
  if (body.data.resultType === 'scalar') return [{ metric: {}, value: body.data.result as [number, string] }];
  return body.data.result as PromSample[];
}
