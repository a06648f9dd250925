import type { Command } from 'commander';
import { importPublishedValues } from '../../core/trace/import-values.js';
import { parseRange } from '../options.js';

interface ImportFlags {
  out: string;
  prompts?: string;
}

export function registerTraces(program: Command): void {
  const traces = program.command('traces').description('reward traces: get them into the .npy format that simulate and tune read');
  traces
    .command('import')
    .description("convert the TTSnap authors' published values (simulation/values: <model>_<reward>_val_base and _val_naft, one YAML per step) into <name>_base.npy, <name>_narf.npy and meta.json")
    .argument('<dir>', "the values folder of a clone of github.com/TerrysLearning/TTSnap (simulation/values)")
    .option('--out <dir>', 'folder to write the traces into (simulate/tune --trace-dir reads it)', 'traces')
    .option('--prompts <range>', 'start:end positions in the sorted prompt list (end exclusive; default all)')
    .exitOverride()
    .action((dir: string, flags: ImportFlags) => {
      const prompts = flags.prompts ? parseRange(flags.prompts, '--prompts') : undefined;
      importPublishedValues(dir, flags.out, {
        ...(prompts ? { prompts } : {}),
        onTrace: (t) => process.stderr.write(`traces import: ${t.name} [${t.shape.join(', ')}], noise-aware at steps ${t.narfSteps.join(',') || 'none'}\n`),
      });
      process.stdout.write(`wrote ${flags.out}\n`);
    });
}
