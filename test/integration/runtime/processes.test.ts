// The process objects the CLI runs, started here in-process against a real nats-server: their states, a drain,
// and a close that leaves no port open even when the bus went away first.
import { PassThrough } from 'node:stream';
import { createLogger } from '../../../core/log/logger.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CoordinatorProcess } from '../../../process/coordinator-process.js';
import { WorkerProcess } from '../../../process/worker-process.js';
import { httpGet, startNats, waitFor, type Proc } from '../../support/procs.js';
import { BASE, NARF } from './engine-alone.js';

/** true when something accepts a TCP connection on the loopback port */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

describe.skipIf(!existsSync(BASE))('process objects (needs ../shared/traces)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ttsnap-procs-'));
  let nats: Proc | undefined;
  afterAll(async () => {
    await nats?.stop(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('start serving, drain, and close idempotently with every port closed, even after the bus is gone', async () => {
    const started = await startNats(dir);
    nats = started.proc;
    const out = new PassThrough();
    const lines: string[] = [];
    out.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
    const log = createLogger({ process: 'test', destination: out, format: 'json' });
    const natsPrefix = `p${process.pid}`;
    const coord = await CoordinatorProcess.start({ listen: '127.0.0.1:0', natsUrl: started.url, natsPrefix, metricsPort: 0, scoreTimeoutMs: 10_000, workerTimeoutMs: 3000, queueFactor: 3, drainMs: 1000, log });
    expect(coord.state).toBe('serving');
    const worker = await WorkerProcess.start({ backend: 'trace', backendOptions: { base: BASE, narf: NARF }, listen: '127.0.0.1:0', coordinator: `127.0.0.1:${coord.port}`, natsUrl: started.url, natsPrefix, id: 'w1', drainMs: 1000, log });
    expect(worker.state).toBe('serving');
    await waitFor('the worker registered', async () => (/ttsnap_workers\{state="ready"\} 1/.test((await httpGet(`http://127.0.0.1:${coord.metricsPort}/metrics`))?.body ?? '') ? true : undefined), 20_000, 100);

    await worker.drain();
    expect(worker.state).toBe('draining');
    await worker.close();
    await worker.close();
    expect(worker.state).toBe('stopped');

    expect(await coord.drain()).toBe(true);
    expect(coord.state).toBe('draining');
    await nats.stop(1000); // the bus goes first: closing must still close the server and the metrics endpoint
    await coord.close().catch(() => undefined);
    expect(coord.state).toBe('stopped');
    expect(await listening(coord.port)).toBe(false);
    expect(await listening(coord.metricsPort)).toBe(false);
    await coord.close();
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.msg === 'worker serving')).toMatchObject({ worker: 'w1', listen: expect.stringMatching(/^127\.0\.0\.1:\d+$/), backend: 'trace' });
  });
});
