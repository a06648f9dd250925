import type { SearchReport } from '../../../coordinator/result.js';
import type { Raster } from '../../../core/image/raster.js';
import type { PruneStep } from './lineage.js';

/** One prompt of the search report. */
export type PromptDoc = SearchReport['prompts'][number];

/** Where the pictures come from: what a reward call saw of a candidate at a step (SearchArtifacts has this shape). */
export interface PreviewSource {
  preview(prompt: number, candidate: number, step: number): { readonly image: Raster; readonly scores: Readonly<Record<string, number>> } | undefined;
}

/** One row of a prompt's lineage: who was scored at a step, and who of them was dropped there. */
export interface StageOutcome {
  readonly step: number;
  readonly alive: readonly number[];
  readonly pruned: readonly number[];
  readonly final: boolean;
}

/**
 * A prompt's stages from its prune events, then the final step: every explored candidate is scored at the
 * first prune point, the kept of each point are scored at the next, and the kept of the last reach the end.
 */
export function promptStages(p: PromptDoc, lineage: readonly PruneStep[], finalStep: number): StageOutcome[] {
  const out: StageOutcome[] = [];
  let alive = [...p.explored].sort((a, b) => a - b);
  for (const s of lineage) {
    out.push({ step: s.step, alive, pruned: [...s.pruned].sort((a, b) => a - b), final: false });
    alive = [...s.kept].sort((a, b) => a - b);
  }
  out.push({ step: finalStep, alive, pruned: [], final: true });
  return out;
}

/** The prompt's last sampling step (its ledger's last stage). */
export function finalStepOf(p: PromptDoc): number {
  return p.ledger.stages[p.ledger.stages.length - 1]?.step ?? 0;
}

/** The reward a prompt's scores are shown in: the first the winner was scored with. */
export function shownReward(p: PromptDoc): string {
  return Object.keys(p.winner.rewards)[0] ?? 'reward';
}

/**
 * Each candidate's score at a stage in the shown reward: from the previews where the backend sent them, else
 * (final step only) from the winner and finalists the report lists.
 */
export function stageScores(p: PromptDoc, stage: StageOutcome, previews: PreviewSource | null): Map<number, number> {
  const reward = shownReward(p);
  const scores = new Map<number, number>();
  for (const c of stage.alive) {
    const v = previews?.preview(p.prompt, c, stage.step)?.scores[reward];
    if (v !== undefined && Number.isFinite(v)) scores.set(c, v);
  }
  if (stage.final) {
    for (const w of [p.winner, ...(p.top_k ?? [])]) {
      const v = w.rewards[reward];
      if (v !== undefined && !scores.has(w.candidate)) scores.set(w.candidate, v);
    }
  }
  return scores;
}
