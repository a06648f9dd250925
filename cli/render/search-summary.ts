import type { SearchReport } from '../../coordinator/result.js';
import { formatTable } from './table.js';

/** "1 prompt", "2 prompts": a count with its noun. */
export function count(n: number, noun: string): string {
  return `${n} ${n === 1 ? noun : `${noun}s`}`;
}

/** Latent moves and what lost workers cost, for the summary and report.html. */
export function movementText(m: SearchReport['movement']): string {
  const unscored = m.unscored_steps ? `, up to ${m.unscored_steps} more run and never scored` : '';
  return `${m.moves} (${m.bytes} bytes); workers lost ${m.workers_lost}, denoise steps recomputed ${m.recomputed_steps}${unscored}`;
}

/** The makespan, and the part of it the job waited for a worker when it did. */
export function makespanText(t: SearchReport['timeline']): string {
  return `${t.makespan_s.toFixed(2)} s${t.waited_s > 0 ? ` (${t.waited_s.toFixed(2)} s of it waiting for a worker)` : ''}`;
}

/** The makespan (makespanText) and how long the workers were busy, for the summary and report.html. */
export function timelineText(t: SearchReport['timeline']): string {
  const busy = Object.values(t.worker_busy_s);
  const total = busy.reduce((a, b) => a + b, 0).toFixed(2);
  return `${makespanText(t)}; ${count(busy.length, 'worker')} busy ${total} s in all`;
}

/** Costs span TFLOPs of big models and millionths of them for the tiny bundle: keep 4 significant digits. */
export function formatCost(x: number): string {
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
      formatCost(p.ledger.cost),
    ]);
  }
  const calls = Object.entries(r.ledger.reward_calls).map(([k, v]) => `${k} ${v}`).join(', ');
  const lines = [
    formatTable(header, rows, { labels: true }),
    '',
    `job ${r.job}: ${count(r.prompts.length, 'prompt')}, ${count(r.ledger.candidates, 'candidate')}, ${count(r.ledger.denoise_steps, 'denoise step')}, reward calls ${calls || 0}, cost ${formatCost(r.ledger.cost)}`,
    `makespan ${timelineText(r.timeline)}`,
  ];
  const m = r.movement;
  if (m.moves || m.workers_lost) lines.push(`latent moves ${movementText(m)}`);
  return `${lines.join('\n')}\n`;
}
