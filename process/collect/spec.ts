import { candidateSeed, drawCandidates } from '../../coordinator/candidates.js';
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
  const prompt = spec.promptIds[position] as number;
  const columns = drawCandidates(spec.pool, spec.candidates, spec.seed, prompt);
  return Array.from(columns, (candidate) => ({
    key: `collect/${position}/${candidate}`,
    prompt,
    text: spec.texts[position] as string,
    candidate,
    seed: candidateSeed(spec.seed, prompt, candidate),
  }));
}
