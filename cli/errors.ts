import { CommanderError } from 'commander';
import { BadFileError, ValidationError } from '../core/errors.js';

/** Exit code 2 for anything the user can fix by changing the command line or its files. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof ValidationError || err instanceof BadFileError) return 2;
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  return 1;
}

/** One line on stderr; the stack only with --verbose. Commander has already printed its own usage errors. */
export function reportError(err: unknown, verbose: boolean): void {
  if (err instanceof CommanderError) return;
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`ttsnap: ${message}\n`);
  if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
}
