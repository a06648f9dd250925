import { tensorToRaster, type Raster } from '../../core/image/raster.js';
import type { PreviewSink } from '../../worker/backend.js';

/** What a reward call saw of one candidate at one step: the decoded image and each reward's score. */
export interface Preview {
  readonly image: Raster;
  readonly scores: Readonly<Record<string, number>>;
}

/**
 * Collects what a search's pictures need while it runs: the image each reward call scored and its scores (it
 * is the preview sink the embedded onnx backends feed). Usage: pass it as the embedded cluster's `previews`,
 * read `preview(prompt, candidate, step)` when writing the outputs (search-report/), then `close`.
 */
export class SearchArtifacts implements PreviewSink {
  // prompt -> candidate -> step -> preview
  private readonly previews = new Map<number, Map<number, Map<number, Preview>>>();

  add(key: string, step: number, image: Float32Array, height: number, width: number, scores: Readonly<Record<string, number>>): void {
    // keys are job/prompt/candidate (candidateKey in core/contract/candidates.ts)
    const parts = key.split('/');
    const prompt = Number(parts[parts.length - 2]);
    const candidate = Number(parts[parts.length - 1]);
    if (!Number.isInteger(prompt) || !Number.isInteger(candidate)) return;
    const byCand = this.previews.get(prompt) ?? new Map<number, Map<number, Preview>>();
    this.previews.set(prompt, byCand);
    const bySteps = byCand.get(candidate) ?? new Map<number, Preview>();
    byCand.set(candidate, bySteps);
    bySteps.set(step, { image: tensorToRaster(image, 0, height, width), scores });
  }

  preview(prompt: number, candidate: number, step: number): Preview | undefined {
    return this.previews.get(prompt)?.get(candidate)?.get(step);
  }

  close(): void {
    this.previews.clear();
  }
}
