import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SearchReport } from '../../../coordinator/result.js';
import type { CostModel } from '../../../core/engine/cost-model.js';
import { encodePng } from '../../../core/image/png.js';
import { svgToPng } from '../../../core/image/svg-png.js';
import { thumbnail } from '../../../core/image/thumbnail.js';
import { budgetSpentSpec, spentBars } from '../charts/budget-spent.js';
import { renderChart } from '../charts/render.js';
import { promptSheetSvg } from './contact-sheets.js';
import type { PruneLineage } from './lineage.js';
import { reportData } from './report-data.js';
import { reportHtml } from './report-html.js';
import { finalStepOf, type PreviewSource } from './stages.js';

/** What a finished search leaves in its --out folder. */
export interface SearchOutputs {
  /** the `search --json` document */
  readonly report: SearchReport;
  /** prune decisions gathered from the job's events */
  readonly lineage: PruneLineage;
  /** pictures and per-step scores, where the backend made them (embedded onnx) */
  readonly previews: PreviewSource | null;
  /** the cost model, where known here, to split each stage's cost into denoising and reward calls */
  readonly cost: Pick<CostModel, 'denoise' | 'verify'> | null;
}

/** The winner is also written at least this large (px, whole-factor nearest-neighbour) beside its native size. */
const VIEW_SIZE = 512;

/**
 * Writes a search's outputs into `dir` (created if needed): report.json; report.html (everything in one
 * file); budget.svg/.png (where the budget went); and per prompt with pictures winner.png (native size),
 * winner_large.png (at least 512 px, when the native is smaller) and contact_sheet.svg/.png, suffixed
 * _<prompt> when the job has several prompts. Returns the paths written, report.json first.
 */
export async function writeSearchOutputs(dir: string, o: SearchOutputs): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const put = (name: string, bytes: Uint8Array | string): void => {
    const file = join(dir, name);
    writeFileSync(file, bytes);
    written.push(file);
  };
  put('report.json', `${JSON.stringify(o.report, null, 2)}\n`);
  const suffix = (p: number): string => (o.report.prompts.length > 1 ? `_${p}` : '');
  if (o.previews) {
    for (const p of o.report.prompts) {
      const winner = o.previews.preview(p.prompt, p.winner.candidate, finalStepOf(p))?.image;
      if (winner) {
        put(`winner${suffix(p.prompt)}.png`, encodePng(winner));
        if (Math.max(winner.width, winner.height) < VIEW_SIZE) put(`winner_large${suffix(p.prompt)}.png`, (await thumbnail(winner, VIEW_SIZE)).png);
      }
      const sheet = await promptSheetSvg(p, o.lineage.of(p.prompt), o.previews, finalStepOf(p));
      if (sheet) {
        put(`contact_sheet${suffix(p.prompt)}.svg`, sheet);
        put(`contact_sheet${suffix(p.prompt)}.png`, svgToPng(sheet));
      }
    }
  }
  const budget = await renderChart(budgetSpentSpec(spentBars(o.report.ledger, o.cost)));
  put('budget.svg', budget.svg);
  put('budget.png', budget.png);
  const data = await reportData(o.report.prompts, o.lineage, o.previews);
  put('report.html', reportHtml(o.report, data, [{ title: 'Where the budget went', svg: budget.svg }]));
  return written;
}
