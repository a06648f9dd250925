import { count, formatCost } from '../search-summary.js';
import type { ProgressSnapshot, StageCount } from './stage-progress.js';

function stageText(s: StageCount, prompts: number): string {
  const where = s.final ? `final step ${s.step}` : `step ${s.step}`;
  if (s.prompts === 0 && s.candidates === 0) return `${where}: 0/${prompts}`;
  const cands = s.final ? count(s.candidates, 'finalist') : `${s.candidates} scored, ${s.kept} kept`;
  return `${where}: ${s.prompts}/${prompts} prompts, ${cands}`;
}

function seconds(s: number): string {
  return s >= 90 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${s.toFixed(s < 10 ? 1 : 0)} s`;
}

/** The stages part of a progress line: "step 2: 1/1 prompts, 16 scored, 6 kept | step 6: ...". */
export function stagesText(p: ProgressSnapshot): string {
  return p.stages.map((s) => stageText(s, p.prompts)).join(' | ');
}

/** The budget part: "cost 0.0042 of 0.006875 planned (61%), 0.0035/s, 0.8 s left". */
export function budgetText(p: ProgressSnapshot): string {
  const of = p.planned !== null ? ` of ${formatCost(p.planned)} planned (${p.planned > 0 ? Math.floor((100 * p.spent) / p.planned + 1e-9) : 100}%)` : '';
  const rate = p.rate > 0 ? `, ${formatCost(p.rate)}/s` : '';
  const left = p.leftS !== null ? `, ${seconds(p.leftS)} left` : '';
  return `cost ${formatCost(p.spent)}${of}${rate}${left}`;
}

/** One plain progress line (a log file's form): prompts done, each stage, then the budget. */
export function progressLine(p: ProgressSnapshot): string {
  return `search ${seconds(p.elapsedS)}: ${p.promptsDone}/${p.prompts} prompts done | ${stagesText(p)} | ${budgetText(p)}`;
}
