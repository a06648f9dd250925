import type { TweedieChunk } from '../../core/contract/collect.js';
import { mergeLedgers, type Ledger } from '../../core/engine/ledger.js';
import { promptLedger } from './spec.js';
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

/** Where a driver hands what it collects: each prompt's Tweedie image chunks (when saved), then its values. */
export interface CollectSink {
  /** a piece of a Tweedie image of the prompt at `position` (candidate: index in the prompt) */
  tweedie(position: number, chunk: TweedieChunk): void;
  /** the prompt's values [reward][base, narf][candidate][step], after all its chunks: the prompt is done */
  done(position: number, values: Float32Array): void;
}

/**
 * Where the work runs: embedded backends (embedded.ts) or a coordinator's workers (remote.ts). `run` collects the
 * prompts at these positions, reporting each as it finishes (in any order), and resolves when all are done.
 */
export interface CollectDriver {
  run(positions: readonly number[], sink: CollectSink, signal: AbortSignal): Promise<void>;
}

/**
 * Runs a collection: the prompts the store does not hold yet go to the driver, each finished one is recorded at
 * once (so a rerun skips it), and the traces are written at the end.
 */
export async function runCollect(
  driver: CollectDriver,
  store: CollectStore,
  opts: { readonly onProgress?: (p: CollectProgress) => void; readonly signal?: AbortSignal; readonly now?: () => number } = {},
): Promise<CollectSummary> {
  const now = opts.now ?? (() => performance.now() / 1000);
  const spec = store.spec;
  const finished = store.done();
  const todo = spec.texts.map((_, p) => p).filter((p) => !finished.has(p));
  const total = spec.texts.length;
  const perPrompt = promptLedger(spec);
  let doneHere = 0;
  const t0 = now();
  const progress = (): CollectProgress => {
    const seconds = now() - t0;
    const cost = doneHere * perPrompt.cost;
    return {
      done: finished.size + doneHere,
      total,
      skipped: finished.size,
      seconds,
      cost,
      costPerSecond: seconds > 0 ? cost / seconds : 0,
      candidatesPerSecond: seconds > 0 ? (doneHere * spec.candidates) / seconds : 0,
      secondsLeft: doneHere > 0 ? (seconds / doneHere) * (todo.length - doneHere) : Number.NaN,
    };
  };
  const sink: CollectSink = {
    tweedie: (position, chunk) => store.writeTweedie(position, chunk),
    done: (position, values) => {
      store.writePrompt(position, values);
      doneHere++;
      opts.onProgress?.(progress());
    },
  };
  await driver.run(todo, sink, opts.signal ?? new AbortController().signal).finally(() => store.dropPartial());
  const seconds = now() - t0;
  const files = store.finish();
  const ledger = mergeLedgers(Array.from({ length: doneHere }, () => perPrompt));
  return {
    prompts: total,
    skipped: finished.size,
    candidates: doneHere * spec.candidates,
    seconds,
    ledger,
    cost_per_second: seconds > 0 ? ledger.cost / seconds : 0,
    candidates_per_second: seconds > 0 ? (doneHere * spec.candidates) / seconds : 0,
    files,
  };
}
