/**
 * A histogram without labels, kept in an array of bucket counts and written in the text exposition format as
 * prom-client writes its own (same lines, same order, same number format). The coordinator observes a score
 * latency for every score it accepts (1.6 per candidate): prom-client's `observe` validates and hashes the
 * labels and builds an object and a closure for each value, about 250 ns, and was the largest allocator of a
 * 100k-candidate job; here a value is a binary search and three additions.
 * test/unit/metrics/bucket-histogram.test.ts checks the text against prom-client's for the same values.
 */
export class BucketHistogram {
  /** counts per bucket (not cumulative); the last is +Inf */
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {
    for (let i = 1; i < bounds.length; i++) {
      if (!((bounds[i] as number) > (bounds[i - 1] as number))) throw new RangeError(`histogram ${name}: bucket bounds must increase, got ${bounds.join(', ')}`);
    }
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`histogram ${this.name}: a value must be a finite number, got ${value}`);
    // the first bound >= value (bounds are inclusive, Prometheus's `le`)
    let lo = 0;
    let hi = this.bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.bounds[mid] as number) < value) lo = mid + 1;
      else hi = mid;
    }
    this.counts[lo] = (this.counts[lo] as number) + 1;
    this.sum += value;
    this.count++;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }

  /** HELP, TYPE, the cumulative buckets, sum and count, one a line (no final newline), as prom-client's registry writes them. */
  text(): string {
    const name = escape(this.name);
    const lines = [`# HELP ${name} ${escape(this.help)}`, `# TYPE ${name} histogram`];
    let acc = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      acc += this.counts[i] as number;
      lines.push(`${this.name}_bucket{le="${this.bounds[i]}"} ${acc}`);
    }
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return lines.join('\n');
  }
}

/** The exposition format's escaping of a name or help text (backslash and newline). */
const escape = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
