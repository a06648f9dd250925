import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { candidatesForBudget, parseAccounting } from '../../core/engine/accounting.js';
import { parseCostSpec } from '../../core/engine/cost-model.js';
import { writeScheduleFile, type ScheduleFileJson } from '../../core/engine/schedule-file.js';
import { formatSchedule } from '../../core/engine/schedule.js';
import { BadFileError, ValidationError } from '../../core/errors.js';
import { parseNumberIn } from '../../core/number-range.js';
import type { RewardTrace } from '../../core/trace/reward-trace.js';
import { narfStepsOf } from '../../core/trace/trace-meta.js';
import { formatPlan } from '../../core/tune/plan.js';
import type { SearchProgress } from '../../core/tune/search.js';
import { tuneTraces } from '../../core/tune/parallel.js';
import type { Spread } from '../../core/sim/bootstrap.js';
import { checkTuneRanges, toScheduleFile, TUNE_DEFAULTS, validationSpread, type TuneOptions, type TuneResult } from '../../core/tune/tune.js';
import { parseBudgetGrid, parseInteger, parseRange } from '../options.js';
import { loadTraceSource, type TraceSourceFlags, addBudgetOptions, addTraceSourceOptions } from '../trace-source.js';

interface TuneFlags extends TraceSourceFlags {
  promptsTrain: string;
  promptsVal: string;
  maxStages: string;
  maxSeconds: string;
  budgets: string;
  cost: string;
  accounting: string;
  draws: string;
  searchDraws: string;
  seed: string;
  threads: string;
  maxPasses?: string;
  out?: string;
  plot?: string;
  json?: boolean;
}

export function registerTune(program: Command): void {
  addBudgetOptions(
    addTraceSourceOptions(program.command('tune'), 'without it the tuner prunes on the base reward'),
    '; one schedule per budget',
  )
    .description('find the per-budget pruning schedules that maximise the budget-utilisation metric on training prompts; report them on unseen validation prompts')
    .option('--prompts-train <range>', 'start:end prompts the search may read (end exclusive)', TUNE_DEFAULTS.trainPrompts.join(':'))
    .option('--prompts-val <range>', 'start:end prompts only the final validation reads; disjoint from --prompts-train', TUNE_DEFAULTS.valPrompts.join(':'))
    .option('--max-stages <n>', 'prune points per schedule at most (1..8)', String(TUNE_DEFAULTS.maxStages))
    .option('--max-seconds <s>', 'wall-clock limit per trace, validation included: the best found by then', String(TUNE_DEFAULTS.maxSeconds))
    .option('--draws <n>', 'Monte Carlo draws per budget of the validation (as simulate --draws)', String(TUNE_DEFAULTS.draws))
    .option('--search-draws <n>', 'draws per plan in the search (screening uses a third, later passes double)', String(TUNE_DEFAULTS.searchDraws))
    .option('--seed <n>', 'seed of the validation draws (as simulate --seed); the search draws from other seeds', String(TUNE_DEFAULTS.seed))
    .option('--threads <n>', 'traces tuned at once, one worker thread each (each keeps its --max-seconds)', String(availableParallelism()))
    .option('--max-passes <n>', 'search passes at most (1..8); when they end before --max-seconds the result is repeatable')
    .option('--out <file>', 'write the schedule file (simulate --schedule-file reads it); with --trace-dir a folder that gets <name>.json per trace')
    .option('--plot <base>', 'chart the validation reward against budget (95% bands) as <base>.svg/.png and the tuned schedules as <base>-schedule.svg/.png')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The search reads only the training prompts (draws from seeds other than --seed) and evaluates every plan by
running the simulator; the validation figure is \`simulate --schedule-file OUT --prompts <val> --seed S
--draws D\` on prompts it never read. Each budget gets its own schedule (per_budget in the file); its alphas
are chosen so that the engine derives N from the budget and the rounded keep counts never cost more than
the budget. Progress goes to stderr.`,
    )
    .action(async (flags: TuneFlags) => {
      const traces = loadTraceSource(flags);
      const opts = traces.map((t) => compileOptions(t, flags, variantSteps(t, flags))); // every bad flag fails here, before any work
      const threads = parseInteger('--threads', 1, 256)(flags.threads);
      if (flags.out && flags.traceDir) mkdirSync(flags.out, { recursive: true });
      const outFile = (name: string): string | undefined => (flags.out ? (flags.traceDir ? join(flags.out, `${name}.json`) : flags.out) : undefined);
      // Several traces at once write whole lines; one at a time on a terminal rewrites its line in place.
      const inPlace = Boolean(process.stderr.isTTY) && Math.min(threads, traces.length) === 1;
      const printers = traces.map((t) => progressPrinter(t.name, inPlace));
      const tuned = await tuneTraces(
        traces.map((trace, i) => ({ trace, opts: opts[i] as TuneOptions })),
        {
          threads,
          onProgress: (i, p) => printers[i]?.(p),
          onResult: (i, result) => {
            const out = outFile(result.name);
            if (out) writeOut(out, toScheduleFile(result, opts[i] as TuneOptions, (traces[i] as RewardTrace).steps));
            process.stderr.write(
              `tune ${result.name}: validation ${fmtSpread(result.validation.relative_increase_pct.ttsnap, result.validation_spread)} ` +
                `(train ${fmtPct(result.train_relative_increase_pct)}), ${result.evaluations} evaluations in ${result.seconds.total.toFixed(1)} s${out ? `, wrote ${out}` : ''}\n`,
            );
          },
        },
      );
      const results = tuned.map((result) => ({ result, out: outFile(result.name) }));
      if (flags.plot) {
        const { writeTuneCharts } = await import('../render/charts/write-tune-charts.js');
        const files = await writeTuneCharts(flags.plot, tuned, (opts[0] as TuneOptions).seed);
        process.stderr.write(`tune: charts written to ${files.join(', ')}\n`);
      }
      const summaries = results.map(({ result, out }) => summarize(result, out));
      const seed = (opts[0] as TuneOptions).seed;
      if (flags.json) {
        const json = flags.traceDir || traces.length > 1 ? { traces: Object.fromEntries(summaries.map((s) => [s.name, s])), ...aggregate(tuned, seed) } : summaries[0];
        process.stdout.write(`${JSON.stringify(json)}\n`);
        return;
      }
      process.stdout.write(results.map(({ result, out }) => formatResult(result, out)).join('\n'));
      if (results.length > 1) {
        const a = aggregate(tuned, seed);
        const mean: Spread = { se: a.mean_validation_se_pct, ci95: a.mean_validation_ci95_pct };
        process.stdout.write(`\nvalidation relative increase: mean ${fmtSpread(a.mean_validation_pct, mean)}, min ${a.min_validation_pct.toFixed(2)}%\n`);
      }
    });
}

/**
 * The steps a noise-aware reward exists at, which meta.json beside the traces lists (collected and imported
 * traces have one): TTSnap prunes only there. Undefined (every step) without a narf trace or a listing.
 */
function variantSteps(trace: RewardTrace, flags: TuneFlags): readonly number[] | undefined {
  const dir = flags.traceDir ?? (flags.narf ? dirname(flags.narf) : undefined);
  return trace.hasNarf && dir ? narfStepsOf(dir, trace.name) : undefined;
}

function compileOptions(trace: RewardTrace, flags: TuneFlags, pruneSteps: readonly number[] | undefined): TuneOptions {
  const maxSeconds = parseNumberIn('--max-seconds', flags.maxSeconds, { min: 0, max: 86_400, aboveMin: true, unit: 'seconds' });
  const opts: TuneOptions = {
    budgets: parseBudgetGrid(flags.budgets),
    cost: parseCostSpec(flags.cost, '--cost', { steps: trace.steps }),
    accounting: parseAccounting(flags.accounting),
    trainPrompts: parseRange(flags.promptsTrain, '--prompts-train'),
    valPrompts: parseRange(flags.promptsVal, '--prompts-val'),
    maxStages: parseInteger('--max-stages', 1, Math.min(8, trace.steps - 1))(flags.maxStages),
    ...(pruneSteps ? { pruneSteps } : {}),
    maxSeconds,
    draws: parseInteger('--draws', 1, 100_000)(flags.draws),
    searchDraws: parseInteger('--search-draws', 1, 100_000)(flags.searchDraws),
    seed: parseInteger('--seed', 0, 2 ** 32 - 1)(flags.seed),
    ...(flags.maxPasses !== undefined ? { maxPasses: parseInteger('--max-passes', 1, 8)(flags.maxPasses) } : {}),
  };
  checkTuneRanges(trace, opts);
  for (const b of opts.budgets) {
    // Every budget must buy best-of-N at least one candidate and at most what the trace holds.
    const n = candidatesForBudget(b, [], opts.cost, opts.accounting, 1, '--budgets');
    if (n > trace.candidates) {
      throw new ValidationError('--budgets', `budget ${b} buys ${n} best-of-N candidates, but ${trace.name} holds ${trace.candidates}`, `budgets that buy at most ${trace.candidates} candidates`);
    }
  }
  return opts;
}

function writeOut(file: string, content: ScheduleFileJson): void {
  try {
    writeScheduleFile(file, content);
  } catch (err) {
    throw new BadFileError(file, `cannot write the schedule file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
}

function fmtPct(x: number | null): string {
  return x === null ? 'n/a' : `${x.toFixed(2)}%`;
}

/** `24.27% ± 2.65 (95%: 19.1 to 29.6)`: the figure, its standard error and interval over resampled prompts. */
function fmtSpread(value: number, s: Spread): string {
  return `${value.toFixed(2)}% ± ${s.se.toFixed(2)} (95%: ${s.ci95[0].toFixed(1)} to ${s.ci95[1].toFixed(1)} over resampled validation prompts)`;
}

/** Progress on stderr: one line per budget rewritten in place (one trace on a terminal), else one per finished pass. */
function progressPrinter(name: string, inPlace: boolean): (p: SearchProgress) => void {
  return (p) => {
    const left = p.secondsLeft.toFixed(0);
    const c = p.choice;
    if (inPlace) {
      const gain = c.best.score - c.bon.score;
      process.stderr.write(`\r\x1b[Ktune ${name}: pass ${p.pass} (${c.draws} draws) budget ${c.budget} (${p.budgetIndex + 1}/${p.budgets}) ${formatPlan(c.best.realized.plan)} N=${c.best.realized.n} ${gain >= 0 ? '+' : ''}${gain.toPrecision(3)} over best-of-N, ${left} s of search left`);
      if (p.budgetIndex + 1 === p.budgets) process.stderr.write('\n');
    } else if (p.budgetIndex + 1 === p.budgets) {
      process.stderr.write(`tune ${name}: pass ${p.pass} done (${c.draws} draws per plan, ${p.evaluations} evaluations), ${left} s of search left\n`);
    }
  };
}

function summarize(result: TuneResult, out: string | undefined) {
  const { prompt_means: _perPrompt, ...validation } = result.validation; // the error bars summarise them
  return {
    name: result.name,
    validation_relative_increase_pct: result.validation.relative_increase_pct.ttsnap,
    validation_se_pct: result.validation_spread.se,
    validation_ci95_pct: result.validation_spread.ci95,
    train_relative_increase_pct: result.train_relative_increase_pct,
    per_budget: result.choices.map((c) => ({
      budget: c.budget,
      n: c.best.realized.n,
      plan: formatPlan(c.best.realized.plan),
      schedule: formatSchedule(c.best.realized.schedule),
      cost: c.best.realized.cost,
    })),
    validation,
    evaluations: result.evaluations,
    seconds: result.seconds,
    ...(out ? { out } : {}),
  };
}

/** The mean and minimum over traces, and the mean's bootstrap spread (the traces resampled on the same prompts). */
function aggregate(results: readonly TuneResult[], seed: number) {
  const v = results.map((r) => r.validation.relative_increase_pct.ttsnap);
  const { mean } = validationSpread(results.map((r) => r.validation), seed);
  return {
    mean_validation_pct: v.reduce((a, b) => a + b, 0) / v.length,
    mean_validation_se_pct: mean.se,
    mean_validation_ci95_pct: mean.ci95,
    min_validation_pct: Math.min(...v),
  };
}

function formatResult(result: TuneResult, out: string | undefined): string {
  const lines = [`${result.name}: per-budget plans (step:keep), N candidates, real cost`];
  for (const c of result.choices) {
    lines.push(`  ${String(c.budget).padStart(8)}  N=${String(c.best.realized.n).padStart(3)}  ${formatPlan(c.best.realized.plan).padEnd(24)} cost ${c.best.realized.cost.toFixed(1)}`);
  }
  lines.push(`  relative increase over best-of-N: validation ${fmtSpread(result.validation.relative_increase_pct.ttsnap, result.validation_spread)}, train ${fmtPct(result.train_relative_increase_pct)}`);
  lines.push(`  ${result.evaluations} evaluations, ${result.seconds.total.toFixed(1)} s${out ? `; schedule file ${out}` : ''}`);
  return `${lines.join('\n')}\n`;
}
