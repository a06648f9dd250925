import { svgToPng } from '../../../core/image/svg-png.js';
import { writePromptImage } from '../../results-file.js';
import { promptSheetSvg } from './contact-sheets.js';
import type { PruneLineage } from './lineage.js';
import { finalStepOf, type PreviewSource, type PromptDoc } from './stages.js';

/**
 * `search --contact-sheets`: `--out DIR/images/<prompt>-sheet.png`, the prompt's candidates at each prune step and
 * its finalists at the end, written (fsynced, renamed) as the prompt finishes. Returns the path, or null when
 * no candidate of the prompt has a picture.
 */
export async function writePromptSheet(dir: string, p: PromptDoc, lineage: PruneLineage, previews: PreviewSource): Promise<string | null> {
  const svg = await promptSheetSvg(p, lineage.of(p.prompt), previews, finalStepOf(p));
  return svg === null ? null : writePromptImage(dir, p.prompt, svgToPng(svg), '-sheet');
}
