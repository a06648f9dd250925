import { SingleBar } from 'cli-progress';
import type { JobEvent } from '../../../core/generated/ttsnap/v1/JobEvent.js';
import type { Ledger } from '../../../core/engine/ledger.js';
import { budgetText, progressLine, stagesText } from './progress-line.js';
import { StageProgress } from './stage-progress.js';

/** Where progress goes and how. */
export interface ReporterOptions {
  readonly prompts: number;
  /** the engine's planned ledger of one prompt, where known (embedded) */
  readonly planPerPrompt: Ledger | null;
  /** plain mode: at least this many seconds between lines, besides one per stage completed (default 5) */
  readonly everyS?: number;
}

/** Feeds job events in and shows them; `stop` ends the display (call it before printing the summary). */
export interface ProgressReporter {
  onEvent(e: JobEvent): void;
  stop(): void;
}

/** The line an event gets of its own, beside the progress (a worker lost, the job waiting or going on); null for most. */
export function eventNote(e: JobEvent): string | null {
  if (e.worker_lost) return `worker ${e.worker_lost.worker} lost; its candidates continue elsewhere`;
  if (e.waiting) return e.waiting.waiting ? `job waits: ${e.waiting.reason}` : 'job continues: a worker takes its candidates';
  return null;
}

/**
 * Stage-level progress on `stream`: on a terminal a cli-progress bar over the planned cost (prompts when the
 * cost is not known) with the stage counts beside it; otherwise plain lines, one whenever a stage has been
 * passed by every prompt and at least every `everyS` seconds, and one at the end.
 */
export function progressReporter(stream: NodeJS.WriteStream, o: ReporterOptions): ProgressReporter {
  const progress = new StageProgress(o.prompts, o.planPerPrompt);
  const started = Date.now();
  const elapsed = (): number => (Date.now() - started) / 1000;
  if (stream.isTTY) {
    const bar = new SingleBar({ stream, format: 'search [{bar}] {percentage}% | {stages} | {budget}', hideCursor: true, barsize: 24, etaBuffer: 50 });
    // over the planned cost once it is known: at once embedded, from the coordinator's first budget event remote
    let byCost = o.planPerPrompt !== null;
    bar.start(byCost ? 1000 : o.prompts, 0, { stages: '', budget: '' });
    return {
      onEvent(e) {
        const note = eventNote(e);
        if (note) stream.write(`\n${note}\n`);
        if (!progress.onEvent(e)) return;
        const p = progress.snapshot(elapsed());
        if (!byCost && p.planned) {
          byCost = true;
          bar.setTotal(1000);
        }
        const value = byCost && p.planned ? Math.round((1000 * p.spent) / p.planned) : p.promptsDone;
        bar.update(value, { stages: stagesText(p), budget: budgetText(p) });
      },
      stop: () => bar.stop(),
    };
  }
  const every = (o.everyS ?? 5) * 1000;
  let lastLine = 0;
  let passed = new Set<number>();
  let pending = false;
  const print = (): void => {
    stream.write(`${progressLine(progress.snapshot(elapsed()))}\n`);
    lastLine = Date.now();
    pending = false;
  };
  return {
    onEvent(e) {
      const note = eventNote(e);
      if (note) stream.write(`${note}\n`);
      if (!progress.onEvent(e)) return;
      pending = true;
      const p = progress.snapshot(elapsed());
      const done = new Set(p.stages.filter((s) => s.prompts >= p.prompts).map((s) => s.step));
      const newlyDone = [...done].some((s) => !passed.has(s));
      passed = done;
      if (newlyDone || Date.now() - lastLine >= every) print();
    },
    stop: () => {
      if (pending) print();
    },
  };
}
