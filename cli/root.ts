import { Command } from 'commander';

/**
 * The bare `ttsnap` root command: description, global flags and error handling, no subcommands.
 * cli/program.ts builds the full tree; main.ts builds a root with one subcommand when the command line
 * names a light one, so that `ttsnap simulate` does not load gRPC, NATS and ONNX code it never runs.
 * (program.ts should build its root with createRoot() too, so the two cannot drift.)
 */
export function createRoot(): Command {
  return new Command('ttsnap')
    .description('Test-time scaling of text-to-image diffusion with noise-aware pruning')
    .option('--verbose', 'print stack traces with errors')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ sortSubcommands: true });
}

/** Subcommands whose modules are light enough to load alone, by name. */
export const LIGHT_COMMANDS: Record<string, () => Promise<(program: Command) => void>> = {
  simulate: async () => (await import('./commands/simulate.js')).registerSimulate,
};

/** The subcommand the command line names (the first argument that is not a flag), if any. */
export function namedSubcommand(argv: readonly string[]): string | undefined {
  return argv.slice(2).find((a) => !a.startsWith('-'));
}
