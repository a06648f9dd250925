import type { SheetStage } from '../../core/image/contact-sheet.js';
import { tensorToRaster, type Raster } from '../../core/image/raster.js';
import { writeSearchOutputs, type PromptPictures } from '../../core/image/search-outputs.js';
import type { PreviewSink } from '../../worker/backend.js';

type Num = number | string | null | undefined;

/** The part of a coordinator event this needs: a prune decision (JobEvent.pruned; either transport's shape). */
export interface PruneEventLike {
  readonly pruned?: { readonly prompt?: Num; readonly step?: Num; readonly kept?: readonly Num[] | null; readonly pruned?: readonly Num[] | null } | null;
}

/** The part of the `search --json` document this needs. */
export interface ReportLike {
  readonly prompts: readonly { readonly prompt: number; readonly winner: { readonly candidate: number }; readonly explored: readonly number[] }[];
}

/**
 * Collects what a search's pictures need while it runs — the images each reward call scored (it is the
 * preview sink the embedded onnx backends feed) and the prune decisions (from the job's events) — then writes
 * the winner PNG, the contact sheet and report.json. Usage: pass it as the embedded cluster's `previews`,
 * feed every job event to `onEvent`, call `write` with the result, then `close`.
 */
export class SearchArtifacts implements PreviewSink {
  // prompt -> candidate -> step -> image
  private readonly images = new Map<number, Map<number, Map<number, Raster>>>();
  private readonly prunes = new Map<number, { step: number; pruned: readonly number[]; kept: readonly number[] }[]>();

  add(key: string, step: number, image: Float32Array, height: number, width: number): void {
    // keys are job/prompt/candidate (candidateKey in core/contract/candidates.ts)
    const parts = key.split('/');
    const prompt = Number(parts[parts.length - 2]);
    const candidate = Number(parts[parts.length - 1]);
    if (!Number.isInteger(prompt) || !Number.isInteger(candidate)) return;
    const byCand = this.images.get(prompt) ?? new Map<number, Map<number, Raster>>();
    this.images.set(prompt, byCand);
    const bySteps = byCand.get(candidate) ?? new Map<number, Raster>();
    byCand.set(candidate, bySteps);
    bySteps.set(step, tensorToRaster(image, 0, height, width));
  }

  onEvent(ev: PruneEventLike): void {
    const e = ev.pruned;
    if (!e) return;
    const prompt = Number(e.prompt ?? 0);
    const step = Number(e.step ?? 0);
    const list = this.prunes.get(prompt) ?? [];
    if (!list.some((s) => s.step === step)) list.push({ step, pruned: (e.pruned ?? []).map(Number), kept: (e.kept ?? []).map(Number) });
    this.prunes.set(prompt, list);
  }

  /** The pictures of one prompt: stages from the prune events, then the final step with the winner framed. */
  pictures(prompt: number, winner: number, explored: readonly number[], finalStep: number): PromptPictures {
    const byCand = this.images.get(prompt) ?? new Map<number, Map<number, Raster>>();
    const prunes = [...(this.prunes.get(prompt) ?? [])].sort((a, b) => a.step - b.step);
    const at = (step: number, alive: readonly number[]): Map<number, Raster> => {
      const m = new Map<number, Raster>();
      for (const c of alive) {
        const img = byCand.get(c)?.get(step);
        if (img) m.set(c, img);
      }
      return m;
    };
    const stages: SheetStage[] = [];
    let alive = [...explored];
    for (const p of prunes) {
      stages.push({ step: p.step, images: at(p.step, alive), pruned: new Set(p.pruned) });
      alive = [...p.kept];
    }
    stages.push({ step: finalStep, images: at(finalStep, alive), pruned: new Set() });
    const hasImages = stages.some((s) => s.images.size > 0);
    return {
      prompt,
      winner: byCand.get(winner)?.get(finalStep) ?? null,
      sheet: hasImages ? { candidates: [...explored].sort((a, b) => a - b), stages, winner } : null,
    };
  }

  /** Writes report.json, winner and contact sheet PNGs into dir; returns the paths. `finalStep` = steps - 1. */
  write(dir: string, report: ReportLike, finalStep: number): string[] {
    const pictures = report.prompts.map((p) => this.pictures(p.prompt, p.winner.candidate, p.explored, finalStep));
    return writeSearchOutputs(dir, report, pictures);
  }

  close(): void {
    this.images.clear();
    this.prunes.clear();
  }
}
