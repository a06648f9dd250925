import type { SearchReport } from '../../coordinator/result.js';
import type { AnyJobEvent } from '../../process/search-session.js';
import { formatTable } from './table.js';

/** Costs span TFLOPs of big models and millionths of them for the tiny bundle: keep 4 significant digits. */
function cost(x: number): string {
  return Math.abs(x) >= 1000 || x === 0 ? x.toFixed(1) : x.toPrecision(4);
}

/** The human summary printed without --json: one row per prompt, then the job's totals. */
export function summaryText(r: SearchReport): string {
  const rewardNames = [...new Set(r.prompts.flatMap((p) => Object.keys(p.winner.rewards)))];
  const header = ['prompt', 'winner', 'seed', ...rewardNames, 'explored', 'denoise steps', 'cost'];
  const rows: string[][] = [];
  for (const p of r.prompts) {
    rows.push([
      p.text ? `${p.prompt} ${p.text.slice(0, 40)}` : String(p.prompt),
      String(p.winner.candidate),
      String(p.winner.seed),
      ...rewardNames.map((n) => (p.winner.rewards[n] ?? Number.NaN).toFixed(4)),
      String(p.explored.length),
      String(p.ledger.denoise_steps),
      cost(p.ledger.cost),
    ]);
  }
  const busy = Object.entries(r.timeline.worker_busy_s);
  const calls = Object.entries(r.ledger.reward_calls).map(([k, v]) => `${k} ${v}`).join(', ');
  const lines = [
    formatTable(header, rows, { labels: true }),
    '',
    `job ${r.job}: ${r.prompts.length} prompts, ${r.ledger.candidates} candidates, ${r.ledger.denoise_steps} denoise steps, reward calls ${calls || 0}, cost ${cost(r.ledger.cost)}`,
    `makespan ${r.timeline.makespan_s.toFixed(2)} s; ${busy.length} workers busy ${busy.reduce((s, [, v]) => s + v, 0).toFixed(2)} s in all`,
  ];
  const m = r.movement;
  if (m.moves || m.workers_lost) lines.push(`latent moves ${m.moves} (${m.bytes} bytes); workers lost ${m.workers_lost}, denoise steps recomputed ${m.recomputed_steps}`);
  return `${lines.join('\n')}\n`;
}

/** Progress lines on stderr: a rewritten line on a terminal, every 10% otherwise. */
export function progressPrinter(stream: NodeJS.WriteStream): (e: AnyJobEvent) => void {
  let lastDecile = -1;
  return (e) => {
    if (e.event === 'worker_lost' && e.worker_lost) {
      stream.write(`${stream.isTTY ? '\n' : ''}worker ${e.worker_lost.worker} lost; its candidates continue elsewhere\n`);
    }
    if (e.event !== 'budget' || !e.budget) return;
    const done = Number(e.budget.prompts_done);
    const total = Number(e.budget.prompts);
    const line = `prompts ${done}/${total}, cost ${cost(Number(e.budget.cost))} of ${cost(Number(e.budget.planned))} planned, ${Number(e.at_s).toFixed(1)} s`;
    if (stream.isTTY) stream.write(`\r${line}${done === total ? '\n' : ''}`);
    else {
      const decile = Math.floor((10 * done) / total);
      if (decile !== lastDecile) stream.write(`${line}\n`);
      lastDecile = decile;
    }
  };
}
