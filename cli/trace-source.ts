import type { Command } from 'commander';
import { ValidationError } from '../core/errors.js';
import { loadRewardTrace, type RewardTrace } from '../core/trace/reward-trace.js';
import { syntheticTrace } from '../core/trace/synthetic.js';
import { listTracePairs, type TracePair } from '../core/trace/trace-dir.js';
import { parseInteger } from './options.js';

/** The trace flags that simulate and tune share. */
export interface TraceSourceFlags {
  base?: string;
  narf?: string;
  traceDir?: string;
  synthetic?: string | true;
}

/** Exactly one source of traces: --base [--narf], --trace-dir or --synthetic [seed]. */
/** `pairs`: the --trace-dir listing when the caller already made it. */
export function loadTraceSource(flags: TraceSourceFlags, pairs?: readonly TracePair[]): RewardTrace[] {
  const given = [flags.base && '--base', flags.traceDir && '--trace-dir', flags.synthetic !== undefined && '--synthetic'].filter(Boolean);
  if (given.length !== 1) {
    throw new ValidationError(
      given.length ? given.join(' and ') : 'traces',
      given.length ? 'given together' : 'none given',
      'exactly one of --base FILE [--narf FILE], --trace-dir DIR, --synthetic [SEED]',
    );
  }
  if (flags.narf && !flags.base) throw new ValidationError('--narf', 'given without --base', '--narf together with --base');
  if (flags.base) return [loadRewardTrace(flags.base, flags.narf)];
  if (flags.traceDir) return (pairs ?? listTracePairs(flags.traceDir)).map((p) => loadRewardTrace(p.base, p.narf, p.name));
  const seed = flags.synthetic === true ? 0 : parseInteger('--synthetic', 0, 2 ** 32 - 1)(flags.synthetic as string);
  return [syntheticTrace({ seed })];
}

/** Declares the trace flags (one source of traces) on a command; `narfHelp` says what a missing --narf means there. */
export function addTraceSourceOptions(cmd: Command, narfHelp: string): Command {
  return cmd
    .option('--base <file>', 'base reward trace (.npy float32 [prompts, candidates, steps])')
    .option('--narf <file>', `noise-aware reward trace of the same shape (${narfHelp})`)
    .option('--trace-dir <dir>', 'every <name>_base.npy (with <name>_narf.npy if present) in a folder')
    .option('--synthetic [seed]', 'a generated trace (seeded, no data needed): [100, 200, 20]');
}

/** The budget grid of the paper's figures (reference.json), the default of --budgets. */
export const DEFAULT_BUDGET_GRID = '400:4000:200';

/** Declares the budget grid and cost flags that simulate and tune share. */
export function addBudgetOptions(cmd: Command, budgetsHelp: string): Command {
  return cmd
    .option('--budgets <grid>', `start:end:step, inclusive (same unit as --cost)${budgetsHelp}`, DEFAULT_BUDGET_GRID)
    .option('--cost <spec>', 'cost per denoise step and per reward call (TFLOPs)', 'denoise=9.9,verify=1.2')
    .option('--accounting <mode>', 'exact | paper (paper: the published formula, under-charges one denoise step per candidate)', 'exact');
}
