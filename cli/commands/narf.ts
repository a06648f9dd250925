import { dirname } from 'node:path';
import type { Command } from 'commander';
import { rankAgreement, type MeanWithSpread, type RankAgreement } from '../../core/narf/rank-agreement.js';
import { BOOTSTRAP_RESAMPLES } from '../../core/sim/bootstrap.js';
import { narfStepsOf } from '../../core/trace/trace-meta.js';
import { parseInteger, parseRange } from '../options.js';
import { formatTable } from '../render/table.js';
import { addTraceSourceOptions, loadTraceSource, type TraceSourceFlags } from '../trace-source.js';

interface EvalFlags extends TraceSourceFlags {
  prompts?: string;
  resamples: string;
  seed: string;
  json?: boolean;
  plot?: string;
}

export function registerNarf(program: Command): void {
  const narf = program.command('narf').description('noise-aware rewards (NARF): how well early scores predict final ones');
  addTraceSourceOptions(narf.command('eval'), 'without it only the base reward is measured')
    .description(
      "per step, within-prompt rank agreement (Kendall's tau-b, Spearman's rho) of the step-s score with the finished image's base score, mean over prompts with a bootstrap 95% interval; base vs noise-aware (the paper's Figure 3)",
    )
    .option('--prompts <range>', 'start:end prompts (end exclusive; default all)')
    .option('--resamples <n>', 'bootstrap resamples of the prompts', String(BOOTSTRAP_RESAMPLES))
    .option('--seed <n>', 'seed of the resamples', '0')
    .option('--json', 'print the result as JSON')
    .option('--plot <file>', "also draw Kendall's tau against the step, base and noise-aware, into <file>.svg and <file>.png")
    .exitOverride()
    .action(async (flags: EvalFlags) => {
      const traces = loadTraceSource(flags);
      const resamples = parseInteger('--resamples', 2, 1_000_000)(flags.resamples);
      const seed = parseInteger('--seed', 0, 2 ** 32 - 1)(flags.seed);
      const prompts = flags.prompts ? parseRange(flags.prompts, '--prompts') : undefined;
      const metaDir = flags.traceDir ?? (flags.base ? dirname(flags.base) : undefined);
      const results = traces.map((t) => {
        const variantSteps = metaDir ? narfStepsOf(metaDir, t.name) : undefined;
        return rankAgreement(t, { resamples, seed, ...(prompts ? { prompts } : {}), ...(variantSteps ? { variantSteps } : {}) });
      });
      const plots = flags.plot ? await plotTau(flags.plot, results) : [];
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(results.length === 1 ? results[0] : { traces: results })}\n`);
        return;
      }
      process.stdout.write(results.map(formatAgreement).join('\n'));
      if (plots.length) process.stdout.write(`wrote ${plots.join(', ')}\n`);
    });
}

const cell = (m: MeanWithSpread): string => `${m.mean.toFixed(3)} [${m.ci95[0].toFixed(3)}, ${m.ci95[1].toFixed(3)}]`;

/** One table per trace: a row per step; noise-aware columns only where the trace has a variant. */
export function formatAgreement(r: RankAgreement): string {
  const rows = r.steps.map((s) => [
    String(s.step),
    cell(s.kendall.base),
    s.variant ? cell(s.kendall.narf) : '-',
    cell(s.spearman.base),
    s.variant ? cell(s.spearman.narf) : '-',
  ]);
  const head = `${r.trace}: rank agreement with the final base score, mean over ${r.prompts} prompts of ${r.candidates} candidates (95% bootstrap interval, ${r.resamples} resamples)`;
  return `${head}\n${formatTable(['step', 'tau base', 'tau narf', 'rho base', 'rho narf'], rows, { rule: true })}\n`;
}

/**
 * Kendall's tau per step with its 95% band, base and noise-aware (at the variant steps); one chart per trace
 * (`<file>-<trace>` when there are several: twelve lines in one chart cannot be told apart).
 */
async function plotTau(file: string, results: readonly RankAgreement[]): Promise<string[]> {
  const [{ rankAgreementSpec }, { writeChart }] = await Promise.all([import('../render/charts/rank-agreement.js'), import('../render/charts/render.js')]);
  const stem = file.replace(/\.(png|svg)$/i, '');
  const written: string[] = [];
  for (const r of results) {
    const points = r.steps.flatMap((s) => [
      { scorer: 'base reward', step: s.step, agreement: s.kendall.base.mean, lo: s.kendall.base.ci95[0], hi: s.kendall.base.ci95[1] },
      ...(s.variant ? [{ scorer: 'noise-aware', step: s.step, agreement: s.kendall.narf.mean, lo: s.kendall.narf.ci95[0], hi: s.kendall.narf.ci95[1] }] : []),
    ]);
    const spec = rankAgreementSpec(points, `Kendall's tau with the final reward (${r.trace})`);
    written.push(...(await writeChart(results.length > 1 ? `${stem}-${r.trace}` : stem, spec)));
  }
  return written;
}
