#!/usr/bin/env node
import { buildProgram } from './program.js';
import { exitCodeFor, reportError } from './errors.js';

// The CLI owns process exit codes: 0 success, 2 bad input (usage, flags, files), 1 anything else.
const program = buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  reportError(err, process.argv.includes('--verbose'));
  process.exitCode = exitCodeFor(err);
}
