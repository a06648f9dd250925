#!/usr/bin/env node
import type { Command } from 'commander';
import { describeUsageError, exitCodeFor, reportError } from './errors.js';
import { buildProgram, namedSubcommand } from './program.js';

// The CLI owns process exit codes (cli/exit-codes.ts): 0 success, 2 bad input (usage, flags, files), 1 anything else.
const program = await buildProgram(namedSubcommand(process.argv));
// Commander's own usage errors (unknown flag, missing value) become one line naming the flag and what
// is allowed: silence its output and remember which command failed.
let failed: Command = program;
const silence = (cmd: Command): void => {
  cmd.configureOutput({ writeErr: () => {}, outputError: () => (failed = cmd) });
  cmd.commands.forEach(silence);
};
silence(program);
try {
  await program.parseAsync(process.argv);
} catch (err) {
  const verbose = process.argv.includes('--verbose');
  const usage = describeUsageError(err, failed);
  if (usage === undefined) reportError(err, verbose);
  else if (usage) process.stderr.write(`${usage}\n`); // '' for --help / --version, already printed
  process.exitCode = exitCodeFor(err);
}
