import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { addBudgetOptions, addTraceSourceOptions, loadTraceSource } from '../trace-source.js';
import { parseAccounting } from '../../core/engine/accounting.js';
import { parseCostSpec } from '../../core/engine/cost-model.js';
import type { ScheduleFile } from '../../core/engine/schedule-file.js';
import { formatSchedule, parseScheduleSpec, PAPER_SCHEDULE } from '../../core/engine/schedule.js';
import { ValidationError } from '../../core/errors.js';
import { SimWorkerPool, simThreads, simulateTraces, type SimulationJob } from '../../core/sim/parallel.js';
import { planSimulation, type SimulateOptions, type TraceSimulation } from '../../core/sim/simulate.js';
import type { RewardTrace } from '../../core/trace/reward-trace.js';
import { listTracePairs, type TracePair } from '../../core/trace/trace-dir.js';
import { parseBudgetGrid, parseInteger, parseRange } from '../options.js';

interface SimulateFlags {
  base?: string;
  narf?: string;
  traceDir?: string;
  synthetic?: string | true;
  schedule: string;
  scheduleFile?: string;
  budgets: string;
  draws: string;
  seed: string;
  cost: string;
  accounting: string;
  prompts?: string;
  threads: string;
  json?: boolean;
  plot?: string;
}

export function registerSimulate(program: Command): void {
  addBudgetOptions(
    addTraceSourceOptions(program.command('simulate'), 'without it, TTSnap = TTSp'),
    '',
  )
    .description("replay reward traces through the engine with the paper's offline protocol")
    .option('--schedule <spec>', "step:alpha prune points, the paper's by default", formatSchedule(PAPER_SCHEDULE))
    .option('--schedule-file <file>', 'a schedule written by `ttsnap tune --out` (per-budget schedules honoured)')
    .option('--draws <n>', 'Monte Carlo draws per budget', '50')
    .option('--seed <n>', 'seed of the draws', '0')
    .option('--prompts <range>', 'start:end prompt indices, end exclusive (default: all)')
    .option('--threads <n>', 'worker threads for several traces', String(availableParallelism()))
    .option('--json', 'print the result as JSON')
    .option('--plot <file>', 'also chart reward against budget, with 95% bands over resampled prompts, as <file>.svg and <file>.png')
    .action(async (flags: SimulateFlags, cmd: Command) => {
      const pairs = flags.traceDir && !flags.base && flags.synthetic === undefined ? listTracePairs(flags.traceDir) : undefined;
      const threads = simThreads(pairs?.length ?? 1, parseInteger('--threads', 1, 256)(flags.threads));
      // Start the worker threads first: they boot while this thread reads and checks the traces.
      const pool = threads > 1 ? new SimWorkerPool(threads - 1) : undefined;
      try {
        await run(flags, cmd, pairs, pool);
      } finally {
        await pool?.close();
      }
    });
}

/** Loads and checks everything, simulates (on the pool when there is one) and reports. */
async function run(flags: SimulateFlags, cmd: Command, pairs: readonly TracePair[] | undefined, pool: SimWorkerPool | undefined): Promise<void> {
  const traces = loadTraceSource(flags, pairs);
  const scheduleGiven = cmd.getOptionValueSource('schedule') === 'cli';
  if (scheduleGiven && flags.scheduleFile) throw new ValidationError('--schedule-file', 'given with --schedule', 'one of --schedule or --schedule-file');
  // zod (schedule files), pngjs and asciichart load only when asked for: `simulate --json` starts fast.
  const scheduleFile = flags.scheduleFile ? (await import('../../core/engine/schedule-file.js')).readScheduleFile : undefined;
  const jobs = traces.map((trace): SimulationJob => ({ trace, opts: compileOptions(trace, flags, scheduleFile) }));
  for (const job of jobs) planSimulation(job.trace, job.opts); // every bad flag fails here, before any work
  const progress = process.stderr.isTTY ? progressLine() : undefined;
  const results = await simulateTraces(jobs, { threads: 1, ...(pool ? { pool } : {}), ...(progress ? { onProgress: progress.update } : {}) });
  progress?.clear();
  await report(jobs, results, flags);
}

/** Flags -> SimulateOptions for one trace (the schedule and cost model depend on its number of steps). */
function compileOptions(trace: RewardTrace, flags: SimulateFlags, readSchedule?: (file: string, steps: number) => ScheduleFile): SimulateOptions {
  const file = flags.scheduleFile && readSchedule ? readSchedule(flags.scheduleFile, trace.steps) : undefined;
  return {
    budgets: parseBudgetGrid(flags.budgets),
    draws: parseInteger('--draws', 1, 100_000)(flags.draws),
    seed: parseInteger('--seed', 0, 2 ** 32 - 1)(flags.seed),
    schedule: file ? file.schedule : parseScheduleSpec(flags.schedule, trace.steps),
    ...(file && file.perBudget.size > 0 ? { perBudget: file.perBudget } : {}),
    cost: parseCostSpec(flags.cost, '--cost', { steps: trace.steps }),
    accounting: parseAccounting(flags.accounting),
    prompts: flags.prompts ? parseRange(flags.prompts, '--prompts') : [0, trace.prompts],
    // the chart's bands resample prompts
    ...(flags.plot ? { promptMeans: true } : {}),
  };
}

async function report(jobs: readonly SimulationJob[], allResults: readonly TraceSimulation[], flags: SimulateFlags): Promise<void> {
  let plotted: string[] = [];
  // per-prompt means feed the chart's bands only; the printed result stays what it was
  const results = allResults.map(({ prompt_means: _perPrompt, ...r }) => r);
  if (flags.plot) {
    const { writeRewardBudgetChart } = await import('../render/charts/write-sim-charts.js');
    plotted = await writeRewardBudgetChart(flags.plot, allResults.map((r, i) => ({ name: (jobs[i] as SimulationJob).trace.name, sim: r })), (jobs[0] as SimulationJob).opts.seed);
  }
  if (flags.json) {
    const out = flags.traceDir ? { traces: Object.fromEntries(jobs.map((j, i) => [j.trace.name, results[i]])) } : results[0];
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  const { formatSimulationReport } = await import('../render/sim-report.js');
  const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  const text = jobs.map((j, i) =>
    formatSimulationReport(results[i] as TraceSimulation, {
      name: j.trace.name,
      shape: [j.trace.prompts, j.trace.candidates, j.trace.steps],
      accounting: j.opts.accounting,
      schedule: j.opts.perBudget ? `${formatSchedule(j.opts.schedule)} (+${j.opts.perBudget.size} per-budget)` : formatSchedule(j.opts.schedule),
      draws: j.opts.draws,
      color,
    }),
  );
  process.stdout.write(text.join('\n'));
  if (plotted.length) process.stdout.write(`\nchart written to ${plotted.join(', ')}\n`);
}

/** "simulate: 37/114 budgets" on stderr, rewritten in place at most every 100 ms. */
function progressLine(): { update: (done: number, total: number) => void; clear: () => void } {
  let last = 0;
  return {
    update: (done, total) => {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      process.stderr.write(`\rsimulate: ${done}/${total} budgets`);
    },
    clear: () => process.stderr.write('\r\x1b[K'),
  };
}
