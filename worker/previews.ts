import { SHEET_THUMB } from '../core/image/contact-sheet.js';
import { tensorToRaster, type Raster } from '../core/image/raster.js';
import { thumbnail } from '../core/image/thumbnail.js';
import type { CandidateKey } from '../core/contract/candidates.js';
import type { PreviewSink } from './backend.js';

/** A candidate's scored image at one step, as the backend decoded it for its rewards, waiting to be published. */
export interface PendingPreview {
  readonly step: number;
  readonly image: Raster;
  readonly scores: Readonly<Record<string, number>>;
}

/**
 * search --contact-sheets on a worker process: the preview sink of its backend, which keeps the image a score call
 * decoded for its rewards (no second decode) only for candidates whose Advance asked for previews, until the
 * runtime publishes it with the candidate's scores (`take`). Nothing is kept for other candidates, and a released
 * candidate's preview is dropped with it.
 */
export class WorkerPreviews implements PreviewSink {
  private readonly asked = new Set<CandidateKey>();
  private readonly pending = new Map<CandidateKey, PendingPreview>();

  /** Whether the candidate's next scores come with a preview (set by each Advance for it). */
  ask(key: CandidateKey, yes: boolean): void {
    if (yes) this.asked.add(key);
    else this.asked.delete(key);
  }

  wants(key: CandidateKey): boolean {
    return this.asked.has(key);
  }

  add(key: CandidateKey, step: number, image: Float32Array, height: number, width: number, scores: Readonly<Record<string, number>>): void {
    if (this.asked.has(key)) this.pending.set(key, { step, image: tensorToRaster(image, 0, height, width), scores });
  }

  /** The preview of the candidate at `step` (then forgotten), or undefined when none was asked or decoded. */
  take(key: CandidateKey, step: number): PendingPreview | undefined {
    const p = this.pending.get(key);
    if (p?.step !== step) return undefined;
    this.pending.delete(key);
    return p;
  }

  forget(keys: Iterable<CandidateKey>): void {
    for (const k of keys) {
      this.asked.delete(k);
      this.pending.delete(k);
    }
  }
}

/**
 * A preview's picture on the wire: the image shrunk into the contact sheet's thumbnail box (never enlarged: a tiny
 * image travels at its own size, and the sheet enlarges it as it does any tiny image), as a lossless PNG. The sheet
 * drawn from it is the one the embedded search draws from the full image: both shrink with the same filter once.
 */
export async function previewPng(image: Raster): Promise<Uint8Array> {
  return (await thumbnail(image, SHEET_THUMB, false)).png;
}
