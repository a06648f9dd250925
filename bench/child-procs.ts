import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Whether 127.0.0.1:`port` can be bound right now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** The kernel's range for the local ports of outgoing connections (Linux default when unreadable). */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi) return [lo, hi];
  } catch {
    // not Linux
  }
  return [32768, 60999];
}

/**
 * A TCP port that was free a moment ago on 127.0.0.1, chosen below the kernel's ephemeral range: a port the
 * kernel handed out (listen on port 0) can be handed out again as the local port of any test's outgoing
 * connection before the server that was meant to have it binds it (a nats-server once failed so in CI).
 */
export async function freePort(): Promise<number> {
  const [lo] = ephemeralRange();
  const floor = Math.min(10_000, lo - 1000);
  for (let i = 0; i < 200; i++) {
    const port = floor + Math.floor(Math.random() * (lo - floor));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in [${floor}, ${lo})`);
}

/** Spawns and resolves once `ready` matches its stderr (rejects if it exits first). */
export function startChild(cmd: string, args: readonly string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (b: Buffer) => {
      err = (err + b.toString()).slice(-20_000);
      const m = ready.exec(err);
      if (m) resolve({ child, match: m });
    });
    child.once('exit', (code) => reject(new Error(`${cmd} ${args[1] ?? ''} exited ${code}: ${err}`)));
  });
}

/** SIGTERM, then SIGKILL after 10 s; resolves once it exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}
