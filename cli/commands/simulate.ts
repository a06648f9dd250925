import type { Command } from 'commander';
import { parseAccounting } from '../../core/engine/accounting.js';
import { parseCostSpec } from '../../core/engine/cost-model.js';
import { parseScheduleSpec } from '../../core/engine/schedule.js';
import { simulateTrace } from '../../core/sim/simulate.js';
import { loadRewardTrace } from '../../core/trace/reward-trace.js';
import { parseBudgetGrid, parseInteger, parseRange } from '../options.js';

interface SimulateFlags {
  base: string;
  narf?: string;
  schedule: string;
  budgets: string;
  draws: string;
  seed: string;
  cost: string;
  accounting: string;
  prompts?: string;
  json?: boolean;
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description("replay reward traces through the engine with the paper's offline protocol")
    .requiredOption('--base <file>', 'base reward trace (.npy float32 [prompts, candidates, steps])')
    .option('--narf <file>', 'noise-aware reward trace of the same shape (without it, TTSnap = TTSp)')
    .option('--schedule <spec>', 'step:alpha prune points', '2:0.4,6:0.4,11:0.5')
    .option('--budgets <grid>', 'start:end:step, inclusive', '400:4000:200')
    .option('--draws <n>', 'Monte Carlo draws per budget', '50')
    .option('--seed <n>', 'seed of the draws', '0')
    .option('--cost <spec>', 'cost per denoise step and per reward call (TFLOPs)', 'denoise=9.9,verify=1.2')
    .option('--accounting <mode>', "exact | paper (paper: the published formula, under-charges one step per candidate)", 'exact')
    .option('--prompts <range>', 'start:end prompt indices (end exclusive); default all')
    .option('--json', 'print the result as JSON')
    .action((flags: SimulateFlags) => {
      const trace = loadRewardTrace(flags.base, flags.narf);
      const cost = parseCostSpec(flags.cost, '--cost', { steps: trace.steps });
      const result = simulateTrace(trace, {
        budgets: parseBudgetGrid(flags.budgets),
        draws: parseInteger('--draws', 1, 100_000)(flags.draws),
        seed: parseInteger('--seed', 0, 2 ** 32 - 1)(flags.seed),
        schedule: parseScheduleSpec(flags.schedule, trace.steps),
        cost,
        accounting: parseAccounting(flags.accounting),
        prompts: flags.prompts ? parseRange(flags.prompts, '--prompts') : [0, trace.prompts],
      });
      process.stdout.write(`${JSON.stringify(result)}\n`);
    });
}
