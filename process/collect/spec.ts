import { promptCandidates } from '../../coordinator/collect/request.js';
import { LedgerBook, type Ledger } from '../../core/engine/ledger.js';
import type { CandidateSpec } from '../../worker/backend.js';

/**
 * What `ttsnap collect` records: every candidate of every prompt denoised to the end, and at every step its
 * Tweedie estimate scored by every reward (base), and by its noise-aware variant where the bundle has one.
 * Candidates and their noise seeds are drawn exactly as `search --seed` draws them (coordinator/candidates.ts),
 * so a trace column is the candidate that `search` would run.
 */
export interface CollectSpec {
  /** prompt texts, one per prompt ('' for trace backends) */
  readonly texts: readonly string[];
  /** the prompt index each prompt has in a search job: its position for text prompts, its trace row for traces */
  readonly promptIds: readonly number[];
  /** candidates per prompt (I) */
  readonly candidates: number;
  /** as `search --seed` */
  readonly seed: number;
  readonly rewards: readonly string[];
  /** sampling steps S */
  readonly steps: number;
  /** reward -> steps (< S-1) that have a noise-aware variant */
  readonly variantSteps: Readonly<Record<string, readonly number[]>>;
  /** steps whose decoded Tweedie estimates are saved for NARF training (empty: none) */
  readonly saveTweedie: readonly number[];
  /** candidate columns a trace backend holds (0 for model backends: candidates 0..I-1) */
  readonly pool: number;
  readonly cost: { readonly denoise: number; readonly verify: number };
  /** model bundle (name and content fingerprint) or trace the values came from */
  readonly source: { readonly name: string; readonly fingerprint: string };
}

/** The CandidateSpecs of prompt `position`, keyed so that two prompts never share a key. */
export function candidateSpecs(spec: CollectSpec, position: number): CandidateSpec[] {
  const takes = promptCandidates(spec.pool, spec.candidates, spec.seed, spec.promptIds[position] as number, spec.texts[position] as string);
  return takes.map((t) => ({ ...t, key: `collect/${position}/${t.candidate}` }));
}

/**
 * The executed work of one prompt, exact accounting: every candidate denoised through every step, and at each step
 * one call per reward plus one per variant the step has (collect's extra reward calls count).
 */
export function promptLedger(spec: CollectSpec): Ledger {
  const { steps: S, candidates: I } = spec;
  const book = new LedgerBook({ ...spec.cost, steps: S }, 'exact', []);
  book.addCandidates(I);
  for (let s = 0; s < S; s++) {
    book.addDenoise(s, I);
    for (const r of spec.rewards) book.addRewardCalls(s, r, s < S - 1 && spec.variantSteps[r]?.includes(s) ? 2 * I : I);
  }
  return book.summary();
}
