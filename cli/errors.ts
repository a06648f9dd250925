import { CommanderError, type Command } from 'commander';
import { BadFileError, CallError, ValidationError } from '../core/errors.js';
import { RefusedError } from '../core/security/errors.js';
import { EXIT, type ExitCode } from './exit-codes.js';

/** Exit code for an error (see exit-codes.ts): 2 for anything the user can fix in the command line or its files, 5 when TLS or authorisation refused us. */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof ValidationError || err instanceof BadFileError) return EXIT.badInput;
  if (err instanceof RefusedError) return EXIT.refused;
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.done : EXIT.badInput;
  if (err instanceof CallError && err.reach === 'refused') return EXIT.refused;
  if (err instanceof CallError && err.reach === 'unreachable') return EXIT.unreachable;
  return EXIT.failed;
}

/** One line on stderr; the stack only with --verbose. */
export function reportError(err: unknown, verbose: boolean): void {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`ttsnap: ${message}\n`);
  if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
}

/**
 * One line for a commander usage error, naming the command and what it allows (its flags or
 * subcommands); undefined for anything else, and empty for --help / --version (already printed).
 */
export function describeUsageError(err: unknown, cmd: Command): string | undefined {
  if (!(err instanceof CommanderError)) return undefined;
  if (err.exitCode === 0) return '';
  const where = commandPath(cmd);
  const problem = err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').replace(/\.$/, '');
  const inherited = cmd.parent ? cmd.parent.options.map((o) => o.long ?? o.flags) : [];
  const flags = [...cmd.options.map((o) => o.long ?? o.short ?? o.flags), ...inherited, '--help'].join(', ');
  const subcommands = cmd.commands.map((c) => c.name()).join(', ');
  switch (err.code) {
    case 'commander.unknownOption':
      return `${where}: ${problem}; allowed: ${flags}`;
    case 'commander.unknownCommand':
      return `${where}: ${problem}; allowed: ${subcommands}`;
    case 'commander.excessArguments':
      return `${where}: ${problem}; allowed: flags only (${flags})`;
    default:
      return `${where}: ${problem}; see \`${where} --help\``;
  }
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}
