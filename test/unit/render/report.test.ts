import { describe, expect, it } from 'vitest';
import { PruneLineage } from '../../../cli/render/search-report/lineage.js';
import { reportData } from '../../../cli/render/search-report/report-data.js';
import { reportHtml } from '../../../cli/render/search-report/report-html.js';
import { promptStages, type PreviewSource, type PromptDoc } from '../../../cli/render/search-report/stages.js';
import type { SearchReport } from '../../../coordinator/result.js';
import { tensorToRaster } from '../../../core/image/raster.js';

const ledger = { candidates: 4, denoise_steps: 20, reward_calls: { align: 7 }, cost: 2, stages: [{ step: 2, denoise_steps: 12, reward_calls: { align: 4 }, cost: 1.5 }, { step: 9, denoise_steps: 8, reward_calls: { align: 3 }, cost: 0.5 }] };
const prompt = (i: number, text: string): PromptDoc => ({ prompt: i, text, winner: { candidate: 2, seed: 7, rewards: { align: 0.9 } }, top_k: [{ candidate: 2, seed: 7, rewards: { align: 0.9 } }, { candidate: 0, seed: 5, rewards: { align: 0.4 } }], explored: [3, 0, 1, 2], ledger });
const lineage = (): PruneLineage => {
  const l = new PruneLineage();
  for (const p of [0, 1]) l.onEvent({ pruned: { prompt: p, step: 2, kept: [2, 0], pruned: [1, 3] } });
  l.onEvent({ pruned: { prompt: 0, step: 2, kept: [9], pruned: [] } }); // a replayed step changes nothing
  return l;
};
const img = tensorToRaster(new Float32Array(3 * 2 * 2), 0, 2, 2);
/** Pictures and scores at step 2 for everyone and at step 9 for the winner; score = candidate / 10 + step. */
const previews: PreviewSource = {
  preview: (_p, c, step) => (step === 2 || c === 2 ? { image: img, scores: { align: c / 10 + step } } : undefined),
};

describe('report data', () => {
  it('stages from the lineage: everyone scored at the first prune point, the kept at the end', () => {
    expect(promptStages(prompt(0, 'x'), lineage().of(0), 9)).toEqual([
      { step: 2, alive: [0, 1, 2, 3], pruned: [1, 3], final: false },
      { step: 9, alive: [0, 2], pruned: [], final: true },
    ]);
  });

  it('per stage the scores (previews, else the finalists the report lists) and pictures, until the picture budget is spent', async () => {
    const d = await reportData([prompt(0, 'a'), prompt(1, 'b')], lineage(), previews, 1);
    // who was scored is not stored: candidates 0..3 at step 2, then all but the pruned 1 and 3
    expect(d.prompts[0]).toEqual({
      i: 0, t: 'a', n: 4, w: 2, seed: 7, r: { align: 0.9 }, rw: 'align', cost: 2, steps: 20,
      st: [
        { s: 2, p: [1, 3], sc: [2, 2.1, 2.2, 2.3], im: [0, 1, 2, 3] },
        { s: 9, p: [], f: 1, sc: [0.4, 9.2], im: [null, 4] },
      ],
    });
    // the first prompt spent the budget of 1 byte: the second has scores but no pictures
    expect(d.prompts[1]?.st.map((s) => s.im)).toEqual([undefined, undefined]);
    expect([d.images.length, d.imagesOmitted]).toEqual([5, 1]);
    expect(d.images[0]).toMatch(/^data:image\/png;base64,/);
    const bare = await reportData([prompt(0, 'a')], lineage(), null);
    expect(bare.prompts[0]?.st).toEqual([{ s: 2, p: [1, 3] }, { s: 9, p: [], f: 1, sc: [0.4, 0.9] }]);
    // explored candidates that are not 0..n-1 are listed; figures keep six significant digits
    const odd = await reportData([{ ...prompt(0, 'a'), explored: [5, 9], winner: { candidate: 9, seed: 1, rewards: { align: 1 / 3 } } }], new PruneLineage(), null);
    expect(odd.prompts[0]).toMatchObject({ n: 2, ex: [5, 9], r: { align: 0.333333 }, st: [{ s: 9, p: [], f: 1, sc: [null, 0.333333] }] });
  });

  it('report.html carries prompt text only as escaped data: no markup from a prompt reaches the page', async () => {
    const evil = '</script><script>alert(1)</script><!--';
    const report: SearchReport = { job: 'j<1>', prompts: [prompt(0, evil)], ledger, timeline: { makespan_s: 1, worker_busy_s: { w: 1 }, waited_s: 0 }, movement: { moves: 0, bytes: 0, recomputed_steps: 0, workers_lost: 0, unscored_steps: 0 } };
    const html = reportHtml(report, await reportData(report.prompts, lineage(), null), [{ title: 'c"', svg: '<svg/>' }]);
    expect(html).not.toContain(evil);
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('\\u003c/script>\\u003cscript>alert(1)\\u003c/script>\\u003c!--');
    expect(html).toContain('<title>ttsnap report j&lt;1&gt;</title>');
    expect(html).toContain('alt="c&quot;"');
    expect(html.match(/<script/g)).toHaveLength(2); // the data and the page's own script
    expect(html).not.toMatch(/(src|href)="https?:/); // nothing fetched
  });
});
