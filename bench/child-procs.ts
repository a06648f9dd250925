import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A free loopback TCP port (benchmarks start their own servers). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
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
