import { Command } from 'commander';
import { registerModels } from './commands/models.js';
import { registerCoordinator } from './commands/coordinator.js';
import { registerSearch } from './commands/search.js';
import { registerSimulate } from './commands/simulate.js';
import { registerWorker } from './commands/worker.js';
import { registerTune } from './commands/tune.js';

/**
 * The `ttsnap` command tree. Each subcommand lives in cli/commands/<name>.ts and registers itself here,
 * so adding one touches one line of this file.
 */
export function buildProgram(): Command {
  const program = new Command('ttsnap')
    .description('Test-time scaling of text-to-image diffusion with noise-aware pruning')
    .option('--verbose', 'print stack traces with errors')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ sortSubcommands: true });
  registerSimulate(program);
  registerCoordinator(program);
  registerWorker(program);
  registerSearch(program);
  registerTune(program);
  // Subcommands inherit exitOverride so that usage errors reach main.ts and exit with code 2.
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}
