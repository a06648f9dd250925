/** Identifies a candidate on one worker: unique per (job, prompt, candidate index). */
export type CandidateKey = string;

/** A candidate of a job, as the coordinator names it. */
export interface CandidateRef {
  readonly prompt: number;
  readonly candidate: number;
}

/** What the coordinator hands a worker to create a candidate from. */
export interface TakeSpec extends CandidateRef {
  readonly seed: number;
  readonly text: string;
}

/** The backend key of a candidate: unique per worker across jobs. */
export function candidateKey(job: string, ref: CandidateRef): CandidateKey {
  return `${job}/${ref.prompt}/${ref.candidate}`;
}
