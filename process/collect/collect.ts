import { mergeLedgers, type Ledger } from '../../core/engine/ledger.js';
import type { WorkerBackend } from '../../worker/backend.js';
import { collectPrompt } from './run-prompt.js';
import type { CollectStore } from './store.js';

export interface CollectProgress {
  readonly done: number;
  readonly total: number;
  /** prompts finished by an earlier run of the same command */
  readonly skipped: number;
  readonly seconds: number;
  /** ledger cost of this run's work so far, and per second of wall time */
  readonly cost: number;
  readonly costPerSecond: number;
  readonly candidatesPerSecond: number;
  /** estimate from this run's rate */
  readonly secondsLeft: number;
}

export interface CollectSummary {
  readonly prompts: number;
  readonly skipped: number;
  readonly candidates: number;
  readonly seconds: number;
  /** the executed work of this run, priced by the spec's cost model (collect's extra reward calls included) */
  readonly ledger: Ledger;
  readonly cost_per_second: number;
  readonly candidates_per_second: number;
  readonly files: readonly string[];
}

/**
 * Runs a collection on one or more backends (embedded workers): each takes the next unfinished prompt, so a
 * faster worker takes more. Finished prompts are recorded as they end; a rerun skips them.
 */
export async function runCollect(
  backends: readonly WorkerBackend[],
  store: CollectStore,
  opts: { readonly onProgress?: (p: CollectProgress) => void; readonly signal?: AbortSignal; readonly now?: () => number } = {},
): Promise<CollectSummary> {
  const now = opts.now ?? (() => performance.now() / 1000);
  const spec = store.spec;
  const finished = store.done();
  const queue = spec.texts.map((_, p) => p).filter((p) => !finished.has(p));
  const total = spec.texts.length;
  const ledgers: Ledger[] = [];
  const t0 = now();
  let cost = 0;
  const progress = (): CollectProgress => {
    const seconds = now() - t0;
    const doneHere = ledgers.length;
    const left = queue.length;
    return {
      done: finished.size + doneHere,
      total,
      skipped: finished.size,
      seconds,
      cost,
      costPerSecond: seconds > 0 ? cost / seconds : 0,
      candidatesPerSecond: seconds > 0 ? (doneHere * spec.candidates) / seconds : 0,
      secondsLeft: doneHere > 0 ? (seconds / doneHere) * left : Number.NaN,
    };
  };
  const work = async (backend: WorkerBackend): Promise<void> => {
    for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
      const r = await collectPrompt(backend, spec, p, opts.signal);
      store.writePrompt(p, r.values, r.tweedie);
      ledgers.push(r.ledger);
      cost += r.ledger.cost;
      opts.onProgress?.(progress());
    }
  };
  await Promise.all(backends.map(work));
  const seconds = now() - t0;
  const files = store.finish();
  const ledger = mergeLedgers(ledgers);
  return {
    prompts: total,
    skipped: finished.size,
    candidates: ledgers.length * spec.candidates,
    seconds,
    ledger,
    cost_per_second: seconds > 0 ? ledger.cost / seconds : 0,
    candidates_per_second: seconds > 0 ? (ledgers.length * spec.candidates) / seconds : 0,
    files,
  };
}
