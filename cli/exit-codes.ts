/**
 * The exit codes of `ttsnap search` and `ttsnap jobs`, in one place: the README's table is checked against
 * this one (test/cli/exit-codes.test.ts). They tell a failure worth retrying (4: the coordinator was away too
 * long) from ones that a retry cannot fix (2, 5).
 */
export const EXIT = {
  /** the job finished (or the command did what it was asked) */
  done: 0,
  /** the job failed, or an unexpected error */
  failed: 1,
  /** bad input: a flag, a file or a request field; the message names it and what is allowed */
  badInput: 2,
  /** the job was cancelled (by `jobs cancel`, Ctrl-C, or its deadline) */
  cancelled: 3,
  /** the coordinator stayed unreachable past --reconnect-timeout-s */
  unreachable: 4,
  /** the coordinator refused the connection: TLS or authorisation; never retried */
  refused: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Code and meaning, in the order the README lists them. */
export const EXIT_CODE_TABLE: readonly (readonly [code: ExitCode, meaning: string])[] = [
  [EXIT.done, 'the job is done (for `jobs`: the command did what it was asked)'],
  [EXIT.failed, 'the job failed, or an unexpected error'],
  [EXIT.badInput, 'bad input: a flag, a file or a request field (the message names it and what is allowed)'],
  [EXIT.cancelled, 'the job was cancelled (`jobs cancel`, Ctrl-C or its deadline)'],
  [EXIT.unreachable, 'the coordinator stayed unreachable past `--reconnect-timeout-s`'],
  [EXIT.refused, 'refused by TLS or authorisation (never retried)'],
];

/** Exit code for a job that ended in `state`. */
export function exitCodeForJobState(state: string): ExitCode {
  if (state === 'done') return EXIT.done;
  if (state === 'cancelled') return EXIT.cancelled;
  return EXIT.failed;
}
