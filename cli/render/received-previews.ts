import { decodePng } from '../../core/image/png.js';
import type { CandidatePreview__Output } from '../../core/generated/ttsnap/v1/CandidatePreview.js';
import type { Preview } from './search-artifacts.js';
import type { PreviewSource } from './search-report/stages.js';

/**
 * search --coordinator --contact-sheets: the previews the coordinator sent for finished prompts (GetPromptPreviews),
 * by the user's prompt id, as the sheets read them. Held from a prompt's fetch until its sheet is written (`drop`):
 * one prompt's worth at a time, not the job's.
 */
export class ReceivedPreviews implements PreviewSource {
  // prompt -> "candidate/step" -> preview
  private readonly byPrompt = new Map<number, Map<string, Preview>>();

  put(prompt: number, previews: readonly CandidatePreview__Output[]): void {
    const byKey = new Map<string, Preview>();
    for (const p of previews) byKey.set(`${p.candidate}/${p.step}`, { image: decodePng(p.png), scores: { ...p.scores } });
    this.byPrompt.set(prompt, byKey);
  }

  preview(prompt: number, candidate: number, step: number): Preview | undefined {
    return this.byPrompt.get(prompt)?.get(`${candidate}/${step}`);
  }

  drop(prompt: number): void {
    this.byPrompt.delete(prompt);
  }
}
