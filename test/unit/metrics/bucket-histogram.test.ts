import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BucketHistogram } from '../../../core/metrics/bucket-histogram.js';

const BOUNDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

/** prom-client's text for the same values: the reference BucketHistogram's text must equal. */
async function promText(name: string, help: string, bounds: readonly number[], values: readonly number[]): Promise<string> {
  const registry = new Registry();
  const h = new Histogram({ name, help, buckets: [...bounds], registers: [registry] });
  for (const v of values) h.observe(v);
  return registry.getSingleMetricAsString(name);
}

function ours(name: string, help: string, bounds: readonly number[], values: readonly number[]): string {
  const h = new BucketHistogram(name, help, bounds);
  for (const v of values) h.observe(v);
  return h.text();
}

describe('BucketHistogram', () => {
  it('writes the lines prom-client writes: empty, on each bound, between, below and above them', async () => {
    const name = 'ttsnap_test_seconds';
    const help = 'a help text with a \\ and a\nnewline';
    expect(ours(name, help, BOUNDS, [])).toBe(await promText(name, help, BOUNDS, []));
    const values = [...BOUNDS, ...BOUNDS.map((b) => b * 1.5), -3, 0, 0.0005, 1e6];
    const text = ours(name, help, BOUNDS, values);
    expect(text).toBe(await promText(name, help, BOUNDS, values));
    // a value equal to a bound counts in that bucket (le is inclusive)
    expect(ours(name, help, [1, 2], [1, 2, 2])).toContain('ttsnap_test_seconds_bucket{le="1"} 1\nttsnap_test_seconds_bucket{le="2"} 3\nttsnap_test_seconds_bucket{le="+Inf"} 3');
  });

  it('agrees with prom-client for any finite values and bounds', async () => {
    const bounds = fc.uniqueArray(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }), { minLength: 1, maxLength: 12 }).map((b) => [...new Set(b.map((x) => (Object.is(x, -0) ? 0 : x)))].sort((x, y) => x - y));
    await fc.assert(
      fc.asyncProperty(bounds, fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -2e9, max: 2e9 }), { maxLength: 200 }), async (b, values) => {
        expect(ours('h', 'h', b, values)).toBe(await promText('h', 'h', b, values));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a value that is not finite and bounds that do not increase, naming the histogram', () => {
    const h = new BucketHistogram('ttsnap_x', 'x', [1, 2]);
    expect(() => h.observe(Number.NaN)).toThrow('histogram ttsnap_x: a value must be a finite number, got NaN');
    expect(() => h.observe(Number.POSITIVE_INFINITY)).toThrow('got Infinity');
    expect(() => new BucketHistogram('ttsnap_y', 'y', [1, 1])).toThrow('histogram ttsnap_y: bucket bounds must increase, got 1, 1');
  });

  it('reset starts it over', () => {
    const h = new BucketHistogram('h', 'h', [1]);
    h.observe(0.5);
    h.observe(7);
    h.reset();
    expect(h.text()).toBe('# HELP h h\n# TYPE h histogram\nh_bucket{le="1"} 0\nh_bucket{le="+Inf"} 0\nh_sum 0\nh_count 0');
  });
});
