import type { Ledger } from '../core/engine/ledger.js';
import type { PromptResult } from '../core/generated/ttsnap/v1/PromptResult.js';
import type { Winner } from '../core/generated/ttsnap/v1/Winner.js';
import { idSetBytes, packIds, unpackIds, type IdSet } from './id-set.js';
import { ledgerToProto } from './result.js';

/** What one finished prompt keeps: its result less the explored ids (packed) and the ledger (kept once, in the engine's shape). */
interface Kept {
  readonly rest: Omit<PromptResult, 'explored' | 'ledger'>;
  readonly explored: IdSet;
  readonly ledger: Ledger;
  readonly bytes: number;
}

/** Rough bytes of a JS object with `fields` properties (V8: header plus a word per field). */
const objectBytes = (fields: number): number => 32 + 8 * fields;

function winnerBytes(w: Winner | null | undefined): number {
  if (!w) return 0;
  return objectBytes(4) + objectBytes(Object.keys(w.rewards ?? {}).length) + (w.image ? (w.image as Uint8Array).byteLength : 0);
}

function ledgerBytes(l: Ledger): number {
  return objectBytes(5) + l.stages.reduce((n, s) => n + objectBytes(4) + objectBytes(Object.keys(s.reward_calls).length), 0);
}

/**
 * A job's finished prompts by position, each kept as little as its result needs (a job of 10,000 prompts
 * held a JS array of ids and two copies of the ledger per prompt). `bytes` estimates what they hold, for the
 * coordinator's memory budget; results are rebuilt on demand (GetResult pages, the final store).
 */
export class FinishedPrompts {
  private readonly kept: (Kept | undefined)[];
  bytes = 0;

  constructor(size: number) {
    this.kept = new Array<Kept | undefined>(size);
  }

  set(position: number, result: PromptResult, ledger: Ledger): void {
    const { explored, ledger: _proto, ...rest } = result;
    const ids = packIds(explored ?? []);
    const bytes = objectBytes(8) + 2 * (rest.text?.length ?? 0) + winnerBytes(rest.winner) + (rest.top_k ?? []).reduce((n, w) => n + winnerBytes(w), 0) + idSetBytes(ids) + ledgerBytes(ledger);
    this.bytes += bytes - (this.kept[position]?.bytes ?? 0);
    this.kept[position] = { rest, explored: ids, ledger, bytes };
  }

  has(position: number): boolean {
    return this.kept[position] !== undefined;
  }

  /** The prompt's result as it was set. */
  result(position: number): PromptResult | undefined {
    const k = this.kept[position];
    return k && { ...k.rest, explored: unpackIds(k.explored), ledger: ledgerToProto(k.ledger) };
  }

  /** Results of the finished prompts in request order. */
  results(): PromptResult[] {
    const out: PromptResult[] = [];
    for (let p = 0; p < this.kept.length; p++) {
      const r = this.result(p);
      if (r) out.push(r);
    }
    return out;
  }

  /** Ledgers of the finished prompts in request order. */
  ledgers(): Ledger[] {
    return this.kept.filter((k): k is Kept => k !== undefined).map((k) => k.ledger);
  }
}
