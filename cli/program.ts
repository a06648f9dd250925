import { Command } from 'commander';
import { ttsnapVersion } from '../core/version.js';

type Register = (program: Command) => void;

/**
 * The `ttsnap` subcommands, each in cli/commands/<name>.ts, loaded on demand: `ttsnap simulate` should not
 * pay for loading gRPC, NATS, protobufjs and onnxruntime (about 0.45 s of CPU per start) that it never runs.
 * Adding a command is one line here.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  collect: async () => (await import('./commands/collect.js')).registerCollect,
  coordinator: async () => (await import('./commands/coordinator.js')).registerCoordinator,
  jobs: async () => (await import('./commands/jobs.js')).registerJobs,
  models: async () => (await import('./commands/models.js')).registerModels,
  narf: async () => (await import('./commands/narf.js')).registerNarf,
  search: async () => (await import('./commands/search.js')).registerSearch,
  simulate: async () => (await import('./commands/simulate.js')).registerSimulate,
  traces: async () => (await import('./commands/traces.js')).registerTraces,
  tune: async () => (await import('./commands/tune.js')).registerTune,
  worker: async () => (await import('./commands/worker.js')).registerWorker,
};

/**
 * Builds the command tree. With `only` naming a known subcommand, just that one is loaded; otherwise
 * (root help, an unknown name) all of them, so that help and "unknown command" list everything.
 */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command('ttsnap')
    .description('Test-time scaling of text-to-image diffusion with noise-aware pruning')
    .version(ttsnapVersion(), '--version', 'print the ttsnap version')
    .option('--verbose', 'print stack traces with errors')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ sortSubcommands: true });
  const names = only !== undefined && only in COMMANDS ? [only] : Object.keys(COMMANDS);
  for (const name of names) (await (COMMANDS[name] as () => Promise<Register>)())(program);
  // Subcommands inherit exitOverride so that usage errors reach main.ts and exit with code 2.
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** The subcommand the command line names (the first argument that is not a flag), if any. */
export function namedSubcommand(argv: readonly string[]): string | undefined {
  return argv.slice(2).find((a) => !a.startsWith('-'));
}
