import type { PromptCandidates__Output } from '../generated/ttsnap/v1/PromptCandidates.js';
import type { SamplingSettings__Output } from '../generated/ttsnap/v1/SamplingSettings.js';
import type { TakePrompt__Output } from '../generated/ttsnap/v1/TakePrompt.js';

/** Identifies a candidate on one worker: unique per (job, prompt, candidate index). */
export type CandidateKey = string;

/** A candidate of a job, as the coordinator names it. */
export interface CandidateRef {
  readonly prompt: number;
  readonly candidate: number;
}

/**
 * Candidates of one prompt, as worker calls carry them (worker.proto PromptCandidates: packed indices). The
 * coordinator builds these straight from its assignments: an object per candidate, made on every fill and release,
 * was a large part of what its fill passes left for the garbage collector.
 */
export type PromptCandidates = PromptCandidates__Output;

/** Candidates of one prompt to create (worker.proto TakePrompt: the text and settings once, indices and seeds packed). */
export type TakePrompt = TakePrompt__Output;

/** What the coordinator hands a worker to create a candidate from. */
export interface TakeSpec extends CandidateRef {
  readonly seed: number;
  readonly text: string;
  /** the prompt's sampling settings, job and prompt merged (absent, 0 or '' = the worker's own) */
  readonly sampling?: SamplingSettings__Output | null;
}

/**
 * A candidate a worker holds, as it reports it to a coordinator it registers with (Worker.Holdings): the
 * coordinator keeps what its jobs can use and releases the rest.
 */
export interface HeldCandidate extends CandidateRef {
  readonly job: string;
  /** step of its latent state (-1 = initial noise) */
  readonly step: number;
  /** epoch of the coordinator it was created or imported under ('' = unknown) */
  readonly epoch: string;
  /** a segment is queued or running for it */
  readonly busy: boolean;
}

/** The job and candidate of a key (job ids are bus tokens: no '/'). */
export function parseCandidateKey(key: CandidateKey): { job: string; prompt: number; candidate: number } {
  const [job = '', prompt = '', candidate = ''] = key.split('/');
  return { job, prompt: Number(prompt), candidate: Number(candidate) };
}

/** The backend key of a candidate: unique per worker across jobs. */
export function candidateKey(job: string, ref: CandidateRef): CandidateKey {
  return `${job}/${ref.prompt}/${ref.candidate}`;
}
