import type { PreviewMessage } from '../core/bus/score-bus.js';
import { ValidationError } from '../core/errors.js';
import type { CandidatePreview } from '../core/generated/ttsnap/v1/CandidatePreview.js';
import { NO_METRICS, type MetricsSink } from '../core/metrics/sink.js';
import { ttsnapVersion } from '../core/version.js';
import type { BackendPool, WorkerSlot } from './workers.js';

/** How long the previews of an ended job's prompts wait for GetPromptPreviews before they are dropped. */
export const ENDED_JOB_PREVIEWS_MS = 120_000;

/**
 * search --contact-sheets: the previews the workers published for jobs that asked, per job and prompt, until the
 * client fetches a prompt's (GetPromptPreviews, after its prompt_done event), which also forgets them. So the
 * coordinator holds the thumbnails of the prompts running or finished but not yet fetched: a prompt's worth each
 * (its candidates times the steps they were scored at, a few KiB to tens of KiB apiece), never the whole job's.
 * A job that ends keeps its unfetched ones ENDED_JOB_PREVIEWS_MS more (a client reconnecting), then drops them.
 * In memory only: a restarted coordinator has none (the sheet then says which pictures are missing).
 * What it holds is the gauge ttsnap_preview_bytes, set after every change (a client that never fetches shows there).
 */
export class PromptPreviews {
  // job -> prompt -> "candidate/step" -> preview
  private readonly byJob = new Map<string, Map<number, Map<string, PreviewMessage>>>();
  private held = 0;

  constructor(private readonly metrics: MetricsSink = NO_METRICS) {}

  /** Keeps one preview; `wanted` says whether its job exists and asked for previews (others are ignored). */
  add(p: PreviewMessage, wanted: (job: string) => boolean): void {
    if (!wanted(p.job)) return;
    let prompts = this.byJob.get(p.job);
    if (!prompts) this.byJob.set(p.job, (prompts = new Map()));
    let byKey = prompts.get(p.prompt);
    if (!byKey) prompts.set(p.prompt, (byKey = new Map()));
    const key = `${p.candidate}/${p.step}`;
    // a recomputed candidate (its worker lost) sends it again: the last one is kept
    const replaced = byKey.get(key)?.png.length ?? 0;
    byKey.set(key, p);
    this.count(p.png.length - replaced);
  }

  /** The prompt's previews, candidates and steps ascending, forgotten here. */
  take(job: string, prompt: number): CandidatePreview[] {
    const prompts = this.byJob.get(job);
    const byKey = prompts?.get(prompt);
    if (!prompts || !byKey) return [];
    prompts.delete(prompt);
    const out = [...byKey.values()].sort((a, b) => a.candidate - b.candidate || a.step - b.step);
    this.count(-out.reduce((sum, p) => sum + p.png.length, 0));
    return out.map((p) => ({ candidate: p.candidate, step: p.step, png: p.png, scores: { ...p.scores } }));
  }

  /** Drops every preview of the job. */
  drop(job: string): void {
    let bytes = 0;
    for (const byKey of this.byJob.get(job)?.values() ?? []) for (const p of byKey.values()) bytes += p.png.length;
    this.byJob.delete(job);
    if (bytes > 0) this.count(-bytes);
  }

  /** PNG bytes held (what a test of the bound reads). */
  get bytes(): number {
    return this.held;
  }

  private count(delta: number): void {
    this.held += delta;
    this.metrics.set('previewBytes', this.held);
  }
}

/**
 * A job asking for previews runs only where every worker of its pool makes them: the trace backend has no
 * pictures, and a worker of an older ttsnap ignores the request (its candidates would be blank on the sheet).
 * Throws ValidationError on `previews`, naming the workers and what to do.
 */
export function checkPreviewWorkers(pool: BackendPool, workers: readonly Pick<WorkerSlot, 'id' | 'info'>[]): void {
  if (!pool.info.renders) throw new ValidationError('previews', `the ${pool.info.backend} workers of pool ${pool.id} have no pictures`, 'a pool of model (onnx) workers, or search without contact sheets');
  const old = workers.filter((w) => !w.info.previews).map((w) => w.id);
  if (old.length === 0) return;
  const named = old.length > 3 ? `${old.slice(0, 3).join(', ')} and ${old.length - 3} more` : old.join(', ');
  throw new ValidationError('previews', `worker${old.length > 1 ? 's' : ''} ${named} of pool ${pool.id} cannot send previews (an older ttsnap)`, `upgrade ${old.length > 1 ? 'them' : 'it'} to this coordinator's ttsnap (${ttsnapVersion()}), or search without contact sheets`);
}
