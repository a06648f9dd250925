import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { drawContactSheet, type SheetInput } from './contact-sheet.js';
import { encodePng } from './png.js';
import type { Raster } from './raster.js';

/** What one prompt of a search leaves behind as pictures. */
export interface PromptPictures {
  readonly prompt: number;
  /** the winner's final image (absent when the backend renders nothing) */
  readonly winner: Raster | null;
  /** the contact sheet's content (absent when no previews were collected) */
  readonly sheet: SheetInput | null;
}

/**
 * Writes a search's outputs into `dir` (created if needed): report.json (the `search --json` document), and per
 * prompt winner.png and contact_sheet.png (suffixed _<prompt> when the job has several prompts). Returns the
 * paths written, report first.
 */
export function writeSearchOutputs(dir: string, report: unknown, prompts: readonly PromptPictures[]): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const put = (name: string, bytes: Uint8Array | string): void => {
    const file = join(dir, name);
    writeFileSync(file, bytes);
    written.push(file);
  };
  put('report.json', `${JSON.stringify(report, null, 2)}\n`);
  const suffix = (p: number): string => (prompts.length > 1 ? `_${p}` : '');
  for (const p of prompts) {
    if (p.winner) put(`winner${suffix(p.prompt)}.png`, encodePng(p.winner));
    if (p.sheet) put(`contact_sheet${suffix(p.prompt)}.png`, encodePng(drawContactSheet(p.sheet)));
  }
  return written;
}
