import { describe, expect, it } from 'vitest';
import { drawLineChart } from '../../cli/render/line-chart-png.js';
import { niceTicks, tickLabel } from '../../cli/render/ticks.js';
import type { Raster } from '../../core/image/raster.js';

const count = (r: Raster, rgb: readonly number[]): number => {
  let n = 0;
  for (let i = 0; i < r.data.length; i += 4) if (r.data[i] === rgb[0] && r.data[i + 1] === rgb[1] && r.data[i + 2] === rgb[2]) n++;
  return n;
};

describe('line chart', () => {
  it('value axis: 1-2-5 steps, range widened to whole ticks; budget axis: inner ticks only', () => {
    const y = niceTicks(0.0123, 0.351, 5, true);
    expect([y.lo, y.hi, y.step, y.ticks.length]).toEqual([0, 0.4, 0.1, 5]);
    expect(y.ticks.map((t) => tickLabel(t, y.step))).toEqual(['0.0', '0.1', '0.2', '0.3', '0.4']);
    const x = niceTicks(400, 4000, 5, false);
    expect([x.lo, x.hi, x.step, x.ticks]).toEqual([400, 4000, 1000, [1000, 2000, 3000, 4000]]);
    const fine = niceTicks(0.2801, 0.2949, 5, true);
    expect(fine.ticks.map((t) => tickLabel(t, fine.step))).toEqual(['0.280', '0.285', '0.290', '0.295']);
    expect(niceTicks(3, 3, 5, true).ticks).toEqual([2, 2.5, 3, 3.5, 4]); // flat data: widened by one
  });

  it('draws 480x360 panels in rows of three, every series (line and legend swatch) in its colour', () => {
    const panel = (title: string) => ({
      title,
      xs: [100, 200, 300],
      series: [
        { name: 'one', ys: [1, 2, 3], rgb: [200, 0, 0] as const },
        { name: 'two', ys: [3, 2, 1], rgb: [0, 0, 200] as const },
      ],
    });
    const chart = drawLineChart([1, 2, 3, 4].map((k) => panel(`t${k}`)), { x: 'budget', y: 'reward' });
    expect([chart.width, chart.height]).toEqual([3 * 480, 2 * 360]);
    const one = drawLineChart([panel('t')], { x: 'budget', y: 'reward' });
    // the swatch alone is 16x3 px; the 2-px polyline adds far more
    expect(count(one, [200, 0, 0])).toBeGreaterThan(48 + 300);
    expect(count(one, [0, 0, 200])).toBeGreaterThan(48 + 300);
  });
});
