import type { MetricsSink } from '../core/metrics/sink.js';
import type { Job } from './job.js';
import type { PromptRun } from './prompt-run.js';
import { promptResult } from './result.js';
import type { WorkerPool } from './workers.js';
import { numbers } from '../core/numbers.js';

export interface StageDeps {
  readonly pool: WorkerPool;
  readonly metrics: MetricsSink;
  readonly clock: () => number;
  /** called when the job's last prompt has finished */
  readonly jobDone: (job: Job) => void;
}

/**
 * A prompt's stage barrier has closed: the engine prunes on the gathered scores, the pruned are released
 * where they live and the survivors enter the next stage (placed by the scheduler's next fill), or, after
 * the final stage, the prompt's result is recorded.
 */
export function completeStage(job: Job, run: PromptRun, deps: StageDeps): void {
  const now = deps.clock();
  const m = deps.metrics;
  const req = run.request;
  m.observe('stageDuration', (now - run.stageStartedAt) / 1000, { stage: req.final ? 'final' : String(req.pruneIndex) });
  if (run.firstScoreAt > 0) m.observe('barrierWait', (now - run.firstScoreAt) / 1000);
  const outcome = run.submitStage();
  if (outcome) {
    m.inc('candidatesPruned', {}, outcome.pruned.length);
    job.emit({ event: 'pruned', pruned: { prompt: run.prompt, step: outcome.step, kept: numbers(outcome.kept), pruned: numbers(outcome.pruned) } }, now);
    releaseCandidates(job, run, outcome.pruned, deps.pool);
    run.beginStage(now);
    job.emit({ event: 'stage', stage: { prompt: run.prompt, step: run.request.step, alive: run.search.aliveCount, final: run.request.final } }, now);
    job.progress(now);
    return;
  }
  m.inc('candidatesFinished', {}, run.search.aliveCount);
  void finishPrompt(job, run, deps);
}

/** Records the prompt's result (with the winner's image when asked for and the backend renders). */
async function finishPrompt(job: Job, run: PromptRun, deps: StageDeps): Promise<void> {
  const winner = run.search.winner();
  let image: Uint8Array | undefined;
  const holder = deps.pool.get(run.holderOf(winner) ?? '');
  if (job.spec.images && holder?.info.renders) {
    image = await holder.client.render(job.id, { prompt: run.prompt, candidate: winner }).catch(() => undefined);
  }
  releaseCandidates(job, run, run.search.alive(), deps.pool);
  if (job.ended) return;
  const result = promptResult(run, job.spec.topK, image);
  job.finishPrompt(run, result);
  job.emit({ event: 'prompt_done', prompt_done: result }, deps.clock());
  job.emitBudget(deps.clock());
  if (job.promptsDone === job.spec.prompts.length) deps.jobDone(job);
}

/** Candidates `ids` by the worker `workerOf` names for each (those it names none for are left out). */
export function byWorker(ids: ArrayLike<number>, workerOf: (i: number) => string | null): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (let j = 0; j < ids.length; j++) {
    const i = ids[j] as number;
    const w = workerOf(i);
    if (!w) continue;
    const list = out.get(w);
    if (list) list.push(i);
    else out.set(w, [i]);
  }
  return out;
}

/** Releases candidates where they live (fire and forget: a lost worker has released them anyway). */
export function releaseCandidates(job: Job, run: PromptRun, ids: ArrayLike<number>, pool: WorkerPool): void {
  for (const [w, candidates] of byWorker(ids, (i) => run.dropHolder(i))) void pool.get(w)?.client.release(job.id, [{ prompt: run.prompt, candidates }]).catch(() => undefined);
}
