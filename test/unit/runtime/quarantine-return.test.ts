// A worker quarantined for failed calls gets work again once its quarantine is over: everything it had in flight
// was put back when it was quarantined, so none of it may still count against its places.
import { describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import type { MetricsSink } from '../../../core/metrics/sink.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { inProcessFixture } from '../../support/in-process.js';

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

describe('a quarantined worker', () => {
  const { bus, coordinator, join } = inProcessFixture();

  it('takes work again when its quarantine is over, though calls of several jobs were in flight on it', async () => {
    let now = 1_000_000;
    const faults: Record<string, number> = {};
    const metrics: MetricsSink = { set() {}, observe() {}, inc: (key, labels) => void (key === 'workerFaults' && (faults[labels?.worker ?? ''] = (faults[labels?.worker ?? ''] ?? 0) + 1)) };
    const c = coordinator(new Coordinator(bus, metrics, { clock: () => now, queueFactor: 4 }));
    await join(c, 'good');
    const broken = await join(c, 'broken');
    // its calls fail until it is healed: with eight jobs of 2 candidates a prompt running, a fill sends it a call of
    // each job, and the third failure quarantines it while the five others are still in flight there
    broken.failing = Number.POSITIVE_INFINITY;
    const first = range(0, 8).map((k) => c.submit({ prompts: range(10 * k, 10 * k + 2), candidates: 2, schedule: [...PAPER_SCHEDULE], seed: k }));
    await Promise.all(first.map((j) => c.whenEnded(j.id)));
    expect(first.every((j) => j.state === 'done')).toBe(true);
    expect(broken.took).toEqual([]);
    broken.failing = 0;
    // one quarantine of 5 s (the failures of the calls already put back are not faults of their own), now over: the
    // healed worker shares the next job
    expect(faults).toEqual({ broken: 3 });
    now += 6_000;
    broken.took.length = 0;
    const next = c.submit({ prompts: range(40, 50), candidates: 12, schedule: [...PAPER_SCHEDULE], seed: 9 });
    await c.whenEnded(next.id);
    expect(next.state).toBe('done');
    expect(broken.took.filter((j) => j === next.id).length).toBeGreaterThan(0);
  });
});
