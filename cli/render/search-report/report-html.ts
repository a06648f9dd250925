import type { SearchReport } from '../../../coordinator/result.js';
import { escapeXml } from '../../../core/image/svg.js';
import { formatCost, movementText, timelineText } from '../search-summary.js';
import { REPORT_SCRIPT } from './report-client.js';
import type { ReportDataJson } from './report-data.js';

/** A chart shown in the report: its title and SVG document. */
export interface ReportChart {
  readonly title: string;
  readonly svg: string;
}

const STYLE = `
body{font:14px/1.45 Inter,Helvetica,Arial,sans-serif;color:#222;margin:0 auto;max-width:1200px;padding:16px 24px}
h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:24px 0 8px;border-bottom:1px solid #ddd}h3{font-size:15px;margin:0}
table.kv td,table.grid td,table.grid th{padding:2px 10px 2px 0;text-align:left}table.grid td.n,table.grid th.n{text-align:right}
table.grid{border-collapse:collapse}table.grid tr+tr td{border-top:1px solid #eee}
.top{display:flex;gap:40px;flex-wrap:wrap}.top>section{flex:1;min-width:360px}
.charts img{max-width:100%;margin:0 16px 16px 0;vertical-align:top}
.pager{display:flex;gap:10px;align-items:center;margin:8px 0}.pager input{flex:1;max-width:360px;padding:4px}
article.prompt{border:1px solid #ddd;border-radius:6px;padding:10px;margin:10px 0}
article.prompt header{display:flex;gap:12px;align-items:center}.meta{color:#666;margin:2px 0}
img.winner{width:96px;height:96px;object-fit:contain;image-rendering:pixelated;border:3px solid #e0a000}
.sheet{overflow-x:auto}table.lineage{border-collapse:collapse;margin-top:6px}
table.lineage th{text-align:left;font-weight:600;white-space:nowrap;padding-right:10px;font-size:12px}
table.lineage td{padding:3px;text-align:center;font-size:11px;min-width:60px;vertical-align:top;white-space:nowrap}
img.thumb{width:56px;height:56px;object-fit:contain;image-rendering:pixelated;display:block;margin:auto}
td.pruned img{opacity:.35}td.pruned .fate{color:#d33}td.kept .fate{color:#1a8f3c}td.finalist .fate{color:#777}
td.winner{outline:3px solid #e0a000}td.winner .fate{color:#b07800}.fate{font-weight:700}.id{color:#555}
`;

function kv(rows: readonly (readonly [string, string])[]): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><td>${escapeXml(k)}</td><td>${escapeXml(v)}</td></tr>`).join('')}</table>`;
}

function ledgerTable(r: SearchReport): string {
  const rewards = [...new Set(r.ledger.stages.flatMap((s) => Object.keys(s.reward_calls)))];
  const head = `<tr><th>stage</th><th class="n">denoise steps</th>${rewards.map((n) => `<th class="n">${escapeXml(n)} calls</th>`).join('')}<th class="n">cost</th><th class="n">share</th></tr>`;
  const last = r.ledger.stages[r.ledger.stages.length - 1]?.step;
  const rows = r.ledger.stages.map(
    (s) =>
      `<tr><td>${s.step === last ? `final (step ${s.step})` : `step ${s.step}`}</td><td class="n">${s.denoise_steps}</td>${rewards.map((n) => `<td class="n">${s.reward_calls[n] ?? 0}</td>`).join('')}` +
      `<td class="n">${formatCost(s.cost)}</td><td class="n">${r.ledger.cost > 0 ? ((100 * s.cost) / r.ledger.cost).toFixed(1) : '0'}%</td></tr>`,
  );
  return `<table class="grid">${head}${rows.join('')}</table>`;
}

/** JSON that is safe inside a script element (no "</script>", no HTML comment openers). */
function scriptJson(x: unknown): string {
  return JSON.stringify(x).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * report.html: one self-contained file (styles, script, data, pictures and charts inside; nothing fetched):
 * the job summary, the charts, the ledger, and every prompt's winner with its contact sheet and pruning
 * lineage, twenty prompts a page with a search box.
 */
export function reportHtml(r: SearchReport, data: ReportDataJson, charts: readonly ReportChart[]): string {
  const calls = Object.entries(r.ledger.reward_calls).map(([k, v]) => `${k} ${v}`).join(', ') || '0';
  const summary = kv([
    ['job', r.job],
    ['prompts', String(r.prompts.length)],
    ['candidates explored', String(r.ledger.candidates)],
    ['denoise steps', String(r.ledger.denoise_steps)],
    ['reward calls', calls],
    ['cost', formatCost(r.ledger.cost)],
    ['makespan', timelineText(r.timeline)],
    ['latent moves', movementText(r.movement)],
  ]);
  const chartImgs = charts.map((c) => `<img alt="${escapeXml(c.title)}" src="data:image/svg+xml;base64,${Buffer.from(c.svg).toString('base64')}">`).join('');
  const omitted = data.imagesOmitted ? `<p class="meta">Pictures of ${data.imagesOmitted} prompts are left out of this file to keep it small; their contact sheets are the contact_sheet_*.png files beside it.</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,"><title>ttsnap report ${escapeXml(r.job)}</title><style>${STYLE}</style></head>
<body>
<h1>ttsnap search report</h1>
<div class="top"><section><h2>Job</h2>${summary}<h2>Ledger</h2>${ledgerTable(r)}</section><section class="charts"><h2>Charts</h2>${chartImgs}</section></div>
<h2>Prompts</h2>${omitted}
<div class="pager"><input id="filter" type="search" placeholder="filter: prompt number or text"><button id="prev">previous</button><button id="next">next</button><span id="page-info"></span></div>
<div id="prompts"></div>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${REPORT_SCRIPT}</script>
</body></html>
`;
}
