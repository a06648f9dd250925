#!/usr/bin/env node
import type { Command } from 'commander';
import { describeUsageError, exitCodeFor, reportError } from './errors.js';
import { createRoot, LIGHT_COMMANDS, namedSubcommand } from './root.js';

// The CLI owns process exit codes: 0 success, 2 bad input (usage, flags, files), 1 anything else.
// A light subcommand (simulate) is loaded alone; anything else loads the full command tree.
const light = LIGHT_COMMANDS[namedSubcommand(process.argv) ?? ''];
let program: Command;
if (light) {
  program = createRoot();
  (await light())(program);
  for (const cmd of program.commands) cmd.exitOverride();
} else {
  program = (await import('./program.js')).buildProgram();
}
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
