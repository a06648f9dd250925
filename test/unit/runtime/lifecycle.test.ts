import { describe, expect, it } from 'vitest';
import { startEmbedded } from '../../../process/embedded.js';
import { runAll } from '../../../process/lifecycle.js';
import { BASE, NARF } from '../../integration/runtime/engine-alone.js';
import { existsSync } from 'node:fs';

describe('runAll', () => {
  it('runs every step in order even when one fails, then throws that failure', async () => {
    const ran: string[] = [];
    const steps = [
      ['server', () => void ran.push('server')],
      ['bus', () => {
        ran.push('bus');
        throw new Error('connection reset');
      }],
      ['metrics', async () => void ran.push('metrics')],
    ] as const;
    await expect(runAll(steps)).rejects.toThrow('bus: connection reset');
    expect(ran).toEqual(['server', 'bus', 'metrics']);
  });

  it('names every failed step when several fail', async () => {
    const fail = (m: string) => () => {
      throw new Error(m);
    };
    await expect(runAll([['a', fail('one')], ['b', () => undefined], ['c', fail('two')]])).rejects.toThrow('a: one; c: two');
  });
});

describe.skipIf(!existsSync(BASE))('EmbeddedCluster lifecycle (needs ../shared/traces)', () => {
  it('goes serving -> draining -> stopped, refuses jobs while draining, and closes once', async () => {
    const cluster = await startEmbedded({ backend: 'trace', backendOptions: { base: BASE, narf: NARF }, workers: 2 });
    expect(cluster.state).toBe('serving');
    expect(await cluster.drain(1000)).toBe(true);
    expect(cluster.state).toBe('draining');
    expect(() => cluster.coordinator.submit({ prompts: [0], candidates: 4, schedule: [], seed: 1 })).toThrow(/draining/);
    await cluster.close();
    expect(cluster.state).toBe('stopped');
    await cluster.close();
    expect(cluster.state).toBe('stopped');
  });
});
