import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { readScheduleFile, scheduleForBudget } from '../../core/engine/schedule-file.js';
import { parseScheduleSpec, type Schedule } from '../../core/engine/schedule.js';
import { ValidationError } from '../../core/errors.js';
import { parseNumberIn } from '../../core/number-range.js';
import type { SubmitJobRequest } from '../../core/generated/ttsnap/v1/SubmitJobRequest.js';
import { parseHostPort } from '../../core/grpc/address.js';
import { resultJson } from '../../coordinator/result.js';
import { embeddedSession, remoteSession, type SearchSession } from '../../process/search-session.js';
import { nextSignal } from '../../process/lifecycle.js';
import { progressPrinter, summaryText } from '../render/search-summary.js';
import { SearchArtifacts } from '../render/search-artifacts.js';
import { addBackendOptions, backendOptionsFrom } from '../backend-options.js';
import { parseInteger, parseRange } from '../options.js';

interface SearchFlags {
  coordinator?: string;
  prompts?: string;
  budget?: string;
  candidates?: string;
  schedule: string;
  scheduleFile?: string;
  seed: string;
  policy: string;
  topK: string;
  rewards?: string;
  reward?: string;
  accounting: string;
  json?: boolean;
  out?: string;
  backend?: string;
  workers: string;
  [backendFlag: string]: string | boolean | undefined;
}

/** --schedule-file F (its per-budget entry when it has one) or --schedule SPEC; steps checked by the coordinator. */
function readSchedule(flags: SearchFlags, steps: number | null, budget: number): Schedule {
  if (flags.scheduleFile) return scheduleForBudget(readScheduleFile(flags.scheduleFile, steps), budget);
  return parseScheduleSpec(flags.schedule, steps ?? 10_000);
}

function buildRequest(flags: SearchFlags, texts: string[], steps: number | null): SubmitJobRequest {
  if ((flags.budget === undefined) === (flags.candidates === undefined)) {
    throw new ValidationError('--budget', flags.budget === undefined ? 'neither --budget nor --candidates given' : 'given with --candidates', 'exactly one of --budget B or --candidates N');
  }
  if (flags.prompts !== undefined && texts.length > 0) throw new ValidationError('--prompts', 'given with text prompts', 'trace indices (--prompts a:b) or texts, not both');
  if (flags.prompts === undefined && texts.length === 0) throw new ValidationError('--prompts', 'missing', 'trace prompt indices start:end, or prompt texts as arguments');
  const budget = flags.budget === undefined ? 0 : parseNumberIn('--budget', flags.budget, { min: 0, max: Infinity, aboveMin: true });
  const [start, end] = flags.prompts === undefined ? [0, 0] : parseRange(flags.prompts, '--prompts');
  return {
    prompts: Array.from({ length: end - start }, (_, i) => start + i),
    texts,
    budget,
    candidates: flags.candidates === undefined ? 0 : parseInteger('--candidates', 1, 100_000)(flags.candidates),
    schedule: [...readSchedule(flags, steps, budget)],
    seed: parseInteger('--seed', 0, 2 ** 32 - 1)(flags.seed),
    policy: flags.policy,
    // --reward is the singular spelling users reach for; both lists are rank-summed together.
    rewards: [flags.rewards, flags.reward].flatMap((v) => (v ? v.split(',') : [])).map((s) => s.trim()).filter(Boolean),
    top_k: parseInteger('--top-k', 0, 100_000)(flags.topK),
    accounting: flags.accounting,
    images: flags.out !== undefined,
  };
}

async function openSession(flags: SearchFlags, art?: SearchArtifacts): Promise<SearchSession> {
  if (flags.coordinator) return remoteSession(parseHostPort(flags.coordinator, '--coordinator'));
  const backendOptions = backendOptionsFrom(flags, ['reward']);
  const workers = parseInteger('--workers', 1, 256)(flags.workers);
  return embeddedSession({ backend: flags.backend ?? 'trace', backendOptions, workers, ...(art ? { previews: art } : {}) });
}

/** Request fields the coordinator names in its errors, as the flags that set them here. */
const FLAG_OF: Readonly<Record<string, string>> = {
  prompts: '--prompts', texts: 'texts', budget: '--budget', candidates: '--candidates', schedule: '--schedule',
  policy: '--policy', rewards: '--rewards', top_k: '--top-k', accounting: '--accounting', seed: '--seed',
};

function asFlagError(err: unknown): unknown {
  if (!(err instanceof ValidationError)) return err;
  const m = /^([a-z_]+)(.*)$/.exec(err.field);
  const flag = m ? FLAG_OF[m[1] as string] : undefined;
  if (!flag || !m) return err;
  const problem = err.message.slice(err.field.length + 2, err.message.lastIndexOf('; allowed: '));
  return new ValidationError(`${flag}${m[2] ?? ''}`, problem, err.allowed, { cause: err });
}

export function registerSearch(program: Command): void {
  addBackendOptions(
    program
    .command('search')
    .description('search for the best image per prompt (embedded coordinator and workers, or --coordinator HOST:PORT)')
    .argument('[texts...]', 'prompt texts (model backends)')
    .option('--coordinator <host:port>', 'submit to this coordinator instead of running embedded')
    .option('--prompts <range>', 'trace prompt indices start:end (end exclusive; trace backend)')
    .option('--budget <B>', 'budget per prompt in cost units (TFLOPs); N is derived from it')
    .option('--candidates <N>', 'candidates per prompt')
    .option('--schedule <spec>', 'prune points step:alpha,...', '2:0.4,6:0.4,11:0.5')
    .option('--schedule-file <file>', 'schedule file written by `ttsnap tune` (its per-budget entry when present)')
    .option('--seed <S>', 'seed of the candidate draw and noise', '0')
    .option('--policy <name>', 'ttsnap | ttsp | bon', 'ttsnap')
    .option('--top-k <k>', 'finalists to report per prompt besides the winner', '0')
    .option('--rewards <names>', 'reward names, comma-separated (rank-summed); default the backend\'s first')
    .option('--reward <name>', 'same as --rewards (e.g. --reward quality, or --reward align,quality)')
    .option('--accounting <mode>', 'exact | paper', 'exact')
    .option('--json', 'print the result as JSON on stdout')
    .option('--out <dir>', 'write report.json (and images where the backend makes them) here')
    .option('--backend <name>', 'embedded: worker backend (default: onnx for text prompts, trace for --prompts)')
    .option('--workers <n>', 'embedded: in-process workers', '1'),
  )
    .action(async (texts: string[], flags: SearchFlags) => {
      if (flags.coordinator) parseHostPort(flags.coordinator, '--coordinator');
      // the embedded default: text prompts run the bundled tiny model and write pictures to ./out
      flags.backend ??= texts.length > 0 ? 'onnx' : 'trace';
      const pictures = flags.backend === 'onnx' && !flags.coordinator;
      if (pictures) flags.out ??= 'out';
      if (pictures && flags.budget === undefined) flags.candidates ??= '16';
      const art = pictures ? new SearchArtifacts() : undefined;
      const session = await openSession(flags, art).catch((err: unknown) => {
        art?.close();
        throw err;
      });
      try {
        const req = buildRequest(flags, texts, session.backend?.steps ?? null);
        const { job } = await session.submit(req).catch((err: unknown) => {
          throw asFlagError(err);
        });
        const cancelOnSignal = nextSignal(['SIGINT']).signal.then(() => session.cancel(job));
        void cancelOnSignal;
        const progress = flags.json ? () => {} : progressPrinter(process.stderr);
        const { state, result } = await session.watch(job, (e) => {
          art?.onEvent(e);
          progress(e);
        });
        // The result travels with the done event (a draining coordinator may be gone right after it).
        const raw = result ?? (await session.result(job));
        const doc = resultJson(raw, Number(req.top_k ?? 0));
        if (flags.out && art) {
          const files = art.write(flags.out, doc, (session.backend?.steps ?? 1) - 1);
          if (!flags.json) process.stderr.write(`wrote ${files.join(', ')}\n`);
        } else if (flags.out) {
          mkdirSync(flags.out, { recursive: true });
          writeFileSync(join(flags.out, 'report.json'), `${JSON.stringify(doc, null, 2)}\n`);
          // Winners' images where the workers render them (model backends on remote workers).
          for (const p of raw.prompts ?? []) {
            const png = p.winner?.image;
            if (png && png.length > 0) writeFileSync(join(flags.out, `prompt-${p.prompt}-winner.png`), png);
          }
        }
        process.stdout.write(flags.json ? `${JSON.stringify(doc)}\n` : summaryText(doc));
        if (state !== 'done') {
          process.stderr.write(`ttsnap search: job ${job} ended ${state}\n`);
          process.exitCode = 1;
        }
      } finally {
        await session.close();
        art?.close();
      }
    });
}
