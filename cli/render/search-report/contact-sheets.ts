import { contactSheetSvg } from '../../../core/image/contact-sheet.js';
import type { Raster } from '../../../core/image/raster.js';
import type { PruneStep } from './lineage.js';
import { promptStages, shownReward, stageScores, type PreviewSource, type PromptDoc } from './stages.js';

/** The contact sheet of one prompt as SVG (null when no candidate has a picture). */
export async function promptSheetSvg(p: PromptDoc, lineage: readonly PruneStep[], previews: PreviewSource, finalStep: number): Promise<string | null> {
  const stages = promptStages(p, lineage, finalStep).map((s) => {
    const images = new Map<number, Raster>();
    for (const c of s.alive) {
      const img = previews.preview(p.prompt, c, s.step)?.image;
      if (img) images.set(c, img);
    }
    return { step: s.step, alive: s.alive, pruned: new Set(s.pruned), images, scores: stageScores(p, s, previews) };
  });
  if (stages.every((s) => s.images.size === 0)) return null;
  return contactSheetSvg({
    prompt: p.text ? `“${p.text}”` : `trace prompt ${p.prompt}`,
    reward: shownReward(p),
    candidates: [...p.explored].sort((a, b) => a - b),
    stages,
    winner: p.winner.candidate,
  });
}
