/**
 * Process helpers every test folder shares: real servers on free loopback ports, each with its own temp dir
 * (nats-server with JetStream, Prometheus with a generated config) and ttsnap's own CLI. Every process keeps
 * its stderr (for the lines announcing ports) and the tail of its output (for failure messages), and is stopped
 * (SIGTERM, then SIGKILL after a grace period) by `stop`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../bench/child-procs.js';

/** The built CLI (`npm run build` first). */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
/** The paper's traces, read in place (never copied into the repository). */
export const TRACES = fileURLToPath(new URL('../../../shared/traces', import.meta.url));

/** A free loopback port below the kernel's ephemeral range (shared with the benchmarks). */
export { freePort };

/** Whether a process's output says its port was taken (another process bound it between freePort and now). */
export const portTaken = (output: string): boolean => /address already in use|EADDRINUSE/i.test(output);

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

/** A child process: its whole stderr, and the last 8 KB of all its output for failure messages. */
export class Proc {
  private tail = '';
  /** everything it wrote on stderr so far */
  stderr = '';
  readonly child: ChildProcess;
  /** resolves with the exit code, or the signal name that ended it (-1 when it could not start) */
  readonly exited: Promise<number | string>;

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
    this.child.stderr?.on('data', (b: Buffer) => {
      this.stderr += b.toString();
      keep(b);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, sig) => resolve(code ?? sig ?? -1));
      this.child.once('error', (err) => {
        keep(Buffer.from(`spawn failed: ${err.message}`));
        resolve(-1);
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  output(): string {
    return `--- ${this.name} ---\n${this.tail}`;
  }

  /** Waits until `re` matches its stderr; returns the match (throws with the stderr if it exits first). */
  async waitForStderr(re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.stderr);
      if (m) return m;
      if (!this.running || Date.now() > until) throw new Error(`${this.name}: no ${re} in stderr:\n${this.stderr}`);
      await sleep(25);
    }
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

/** `node dist/cli/main.js ...args` as a Proc. */
export function startCli(name: string, args: readonly string[]): Proc {
  return new Proc(name, process.execPath, [CLI, ...args]);
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node dist/cli/main.js ...args` to the end and collects its output. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
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

/**
 * nats-server on a free port (or `port`: a restart on the same address), with JetStream (store in `dir`) unless
 * `jetstream` is false; resolves once its monitor says healthy.
 */
export async function startNats(dir: string, o: { jetstream?: boolean; name?: string; port?: number; maxPayload?: number } = {}): Promise<{ proc: Proc; url: string }> {
  mkdirSync(dir, { recursive: true });
  const js = o.jetstream ?? true;
  // max_payload has no command-line flag: a lowered one (tests of chunked storage) goes in a config file
  const conf = join(dir, 'nats.conf');
  if (o.maxPayload !== undefined) writeFileSync(conf, `max_payload: ${o.maxPayload}\n`);
  return retryIfPortTaken(async () => {
    const [port, monitor] = [o.port ?? (await freePort()), await freePort()];
    const proc = new Proc(o.name ?? 'nats-server', 'nats-server', [...(o.maxPayload !== undefined ? ['-c', conf] : []), '-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), ...(js ? ['-js', '-sd', dir] : [])]);
    const health = `http://127.0.0.1:${monitor}/healthz${js ? '?js-enabled-only=true' : ''}`;
    await readyOrStop(proc, () => waitFor('nats-server /healthz', async () => (!proc.running || (await httpGet(health))?.status === 200 ? true : undefined), 15_000));
    if (!proc.running) throw new Error(`nats-server exited at start\n${proc.output()}`);
    return { proc, url: `nats://127.0.0.1:${port}` };
  });
}

/**
 * Runs `start` again (new ports, a moment later) while it fails because a port was taken: freePort's port can
 * still be bound by someone else before the server binds it, and a restart on the same port can find it busy.
 */
export async function retryIfPortTaken<T>(start: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await start();
    } catch (err) {
      if (i >= attempts || !portTaken((err as Error).message)) throw err;
      await sleep(200 * i);
    }
  }
}

export interface ScrapeJob {
  job: string;
  targets: string[];
  /** the `pod` label of each target, as a PodMonitor would set it (default: none) */
  pods?: string[];
}

/**
 * Prometheus on a free loopback port scraping `jobs` every second (labels namespace="ttsnap" and pod, as in the cluster)
 * and loading `ruleFiles`; resolves once /-/ready answers.
 */
export async function startPrometheus(dir: string, jobs: readonly ScrapeJob[], ruleFiles: readonly string[]): Promise<{ proc: Proc; url: string }> {
  mkdirSync(dir, { recursive: true });
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
    rule_files: ruleFiles,
    scrape_configs: jobs.map((j) => ({
      job_name: j.job,
      static_configs: j.targets.map((t, i) => ({ targets: [t], labels: { namespace: 'ttsnap', ...(j.pods?.[i] ? { pod: j.pods[i] } : {}) } })),
    })),
  };
  const file = join(dir, 'prometheus.yml');
  writeFileSync(file, JSON.stringify(config, null, 2)); // JSON is YAML
  return retryIfPortTaken(async () => {
    const port = await freePort();
    const proc = new Proc('prometheus', 'prometheus', [
      `--config.file=${file}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ]);
    const url = `http://127.0.0.1:${port}`;
    await readyOrStop(proc, () => waitFor('prometheus /-/ready', async () => (!proc.running || (await httpGet(`${url}/-/ready`))?.status === 200 ? true : undefined), 30_000));
    if (!proc.running) throw new Error(`prometheus exited at start\n${proc.output()}`);
    return { proc, url };
  });
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

/**
 * The processes (and temp dirs) one test file starts: started through it, stopped and removed together by
 * stopAll, their output tails for failure messages.
 */
export class ProcGroup {
  readonly all: Proc[] = [];
  private readonly dirs: string[] = [];

  /** A new temp dir, removed by stopAll. */
  tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  add(p: Proc): Proc {
    this.all.push(p);
    return p;
  }

  /** `ttsnap <args>` run by this node binary (so that killing it kills ttsnap itself, not a wrapper). */
  ttsnap(name: string, args: readonly string[]): Proc {
    return this.add(startCli(name, args));
  }

  get(name: string): Proc | undefined {
    return this.all.find((p) => p.name === name);
  }

  /** Every process's output tail, for a failure message. */
  diagnose(): string {
    return this.all.map((p) => p.output()).join('\n');
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.all.map((p) => p.stop()));
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

/** true once GET url answers 200 (for waitFor). */
export const answers200 = async (url: string): Promise<true | undefined> => ((await httpGet(url))?.status === 200 ? true : undefined);
