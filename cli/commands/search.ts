import { createHash, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { readScheduleFile, scheduleForBudget } from '../../core/engine/schedule-file.js';
import { parseScheduleSpec, type Schedule } from '../../core/engine/schedule.js';
import { ValidationError } from '../../core/errors.js';
import { parseNumberIn } from '../../core/number-range.js';
import type { SubmitJobRequest } from '../../core/generated/ttsnap/v1/SubmitJobRequest.js';
import type { PromptSettings } from '../../core/generated/ttsnap/v1/PromptSettings.js';
import { parseHostPort } from '../../core/grpc/address.js';
import type { JobResult, JobResult__Output } from '../../core/generated/ttsnap/v1/JobResult.js';
import type { PromptResult, PromptResult__Output } from '../../core/generated/ttsnap/v1/PromptResult.js';
import { promptJson, resultJson } from '../../coordinator/result.js';
import { readPromptsFile, type PromptList } from '../prompts-file.js';
import { ResultsFile, writePromptImage } from '../results-file.js';
import { embeddedSession, remoteSession, type SearchSession } from '../../process/search-session.js';
import { nextSignal } from '../../process/lifecycle.js';
import { summaryText } from '../render/search-summary.js';
import { SearchArtifacts } from '../render/search-artifacts.js';
import { defaultBundleDir } from '../../worker/backends/onnx.js';
import { bundleSearchInfo } from '../../worker/onnx/variants.js';
import { PruneLineage } from '../render/search-report/lineage.js';
import { finalStepOf, promptStages, type PreviewSource, type PromptDoc } from '../render/search-report/stages.js';
import { ReceivedPreviews } from '../render/received-previews.js';
import { planPerPrompt } from '../render/search-progress/plan.js';
import { addBackendOptions, backendOptionsFrom } from '../backend-options.js';
import { exitCodeForJobState } from '../exit-codes.js';
import { parseInteger, parseRange } from '../options.js';
import { addTlsOptions, securityFrom } from '../security-options.js';

interface SearchFlags {
  coordinator?: string;
  prompts?: string;
  budget?: string;
  candidates?: string;
  schedule?: string;
  scheduleFile?: string;
  seed: string;
  policy: string;
  topK: string;
  rewards?: string;
  reward?: string;
  accounting: string;
  json?: boolean;
  quiet?: boolean;
  out?: string;
  promptsFile?: string;
  backend?: string;
  workers: string;
  reconnectTimeoutS: string;
  requestId?: string;
  pool?: string;
  deadlineS?: string;
  contactSheets?: boolean;
  [backendFlag: string]: string | boolean | undefined;
}

/** The pictures of a search's candidates by the prompt ids of the user's list (the job numbers text prompts by position in it). */
function userPreviews(art: SearchArtifacts, list: PromptList, todo: readonly number[]): PreviewSource {
  return { preview: (id, c, step) => art.preview(list.kind === 'text' ? todo.indexOf(id) : id, c, step) };
}

/** Where a prompt's contact sheet gets its pictures, and (remote) how they are fetched before it and let go after it. */
interface SheetSource {
  readonly dir: string;
  readonly previews: PreviewSource;
  /** fetches the prompt's previews (its number in the job, its id in the user's list) before its sheet is drawn */
  readonly fetch?: (jobPrompt: number, id: number) => Promise<void>;
  /** after the sheet: forgets the prompt's previews, and warns of pictures that did not come */
  readonly done?: (line: PromptDoc) => void;
}

/**
 * Embedded: the in-process workers' images. With --coordinator: each prompt's previews fetched from the
 * coordinator when the prompt finishes (GetPromptPreviews; it forgets them then), held until its sheet is written.
 */
function sheetSource(dir: string, art: SearchArtifacts | undefined, list: PromptList, todo: readonly number[], session: SearchSession, job: string, lineage: PruneLineage): SheetSource {
  if (art) return { dir, previews: userPreviews(art, list, todo) };
  const received = new ReceivedPreviews();
  const fetchPreviews = session.promptPreviews?.bind(session);
  return {
    dir,
    previews: received,
    fetch: async (jobPrompt, id) => received.put(id, fetchPreviews ? await fetchPreviews(job, jobPrompt) : []),
    done: (p) => {
      const missing = missingPictures(p, lineage, received);
      received.drop(p.prompt);
      if (missing) process.stderr.write(`warning: prompt ${p.prompt}: its contact sheet lacks ${missing} (grey boxes): previews lost on the bus or with a restarted coordinator\n`);
    },
  };
}

/** "K of M pictures" when K cells of the prompt's sheet (candidates alive at a step) have no preview, else ''. */
function missingPictures(p: PromptDoc, lineage: PruneLineage, previews: PreviewSource): string {
  let cells = 0;
  let missing = 0;
  for (const s of promptStages(p, lineage.of(p.prompt), finalStepOf(p))) {
    for (const c of s.alive) {
      cells++;
      if (!previews.preview(p.prompt, c, s.step)) missing++;
    }
  }
  return missing > 0 ? `${missing} of ${cells} pictures` : '';
}

/** --schedule-file F (its per-budget entry when it has one) or --schedule SPEC; steps checked by the coordinator. */
function readSchedule(flags: SearchFlags, steps: number | null, budget: number): Schedule {
  if (flags.scheduleFile) return scheduleForBudget(readScheduleFile(flags.scheduleFile, steps), budget);
  return parseScheduleSpec(flags.schedule ?? DEFAULT_SCHEDULE, steps ?? 10_000);
}

const DEFAULT_SCHEDULE = '2:0.4,6:0.4,11:0.5';

/**
 * Embedded onnx searches: the bundle's default schedule when --schedule is not given, and its noise-aware
 * variants checked against the prune points (policy ttsnap): refused (exit 2) unless --missing-variant base,
 * which returns the gaps as warnings for the report.
 */
function checkVariants(flags: SearchFlags, req: SubmitJobRequest): string[] {
  if (flags.backend !== 'onnx' || flags.coordinator || req.policy !== 'ttsnap') return [];
  const info = bundleSearchInfo(typeof flags.model === 'string' ? flags.model : defaultBundleDir(), typeof flags.steps === 'string' ? Number(flags.steps) : undefined);
  const gaps = info.missing((req.schedule ?? []).map((p) => Number(p.step)), req.rewards ?? []);
  if (gaps.length === 0) return [];
  const what = gaps.map((g) => `reward ${g.reward} has no noise-aware variant at prune step ${g.step}`).join('; ');
  if (flags.missingVariant !== 'base') throw new ValidationError('--schedule', what, 'prune points at steps with a variant, --policy ttsp, or --missing-variant base (scores there with the base reward, recorded as a warning)');
  return gaps.map((g) => `reward ${g.reward} has no noise-aware variant at prune step ${g.step}: scored with the base reward (--missing-variant base)`);
}

/** The prompts given: --prompts start:end, --prompts-file F, or texts as arguments (exactly one). */
function promptList(flags: SearchFlags, texts: string[]): PromptList {
  const given = [flags.prompts !== undefined && '--prompts', flags.promptsFile !== undefined && '--prompts-file', texts.length > 0 && 'texts'].filter((g) => g !== false);
  if (given.length !== 1) {
    throw new ValidationError('--prompts', given.length === 0 ? 'missing' : `${given.join(' and ')} given`, 'one of --prompts start:end (trace rows), --prompts-file F, or prompt texts as arguments');
  }
  if (flags.promptsFile !== undefined) return readPromptsFile(flags.promptsFile);
  if (texts.length > 0) return { kind: 'text', texts };
  const [start, end] = parseRange(flags.prompts as string, '--prompts');
  return { kind: 'trace', indices: Array.from({ length: end - start }, (_, i) => start + i) };
}

/** The ids prompts are reported under: trace row indices, or positions in the list of texts. */
function promptIds(list: PromptList): number[] {
  return list.kind === 'trace' ? [...list.indices] : list.texts.map((_, i) => i);
}

/** The per-prompt overrides of the prompts `ids` (empty when the file gave none), aligned with them. */
function promptSettingsFor(list: PromptList, ids: readonly number[]): PromptSettings[] {
  const given = list.settings;
  if (!given) return [];
  const at = list.kind === 'trace' ? new Map(list.indices.map((p, i) => [p, i])) : null;
  return ids.map((id) => given[at ? (at.get(id) as number) : id] ?? {});
}

/** The job request for the prompts `ids` of `list` (those not done yet). */
function buildRequest(flags: SearchFlags, list: PromptList, ids: readonly number[], steps: number | null): SubmitJobRequest {
  if ((flags.budget === undefined) === (flags.candidates === undefined)) {
    throw new ValidationError('--budget', flags.budget === undefined ? 'neither --budget nor --candidates given' : 'given with --candidates', 'exactly one of --budget B or --candidates N');
  }
  const budget = flags.budget === undefined ? 0 : parseNumberIn('--budget', flags.budget, { min: 0, max: Infinity, aboveMin: true });
  const request: SubmitJobRequest = {
    prompts: list.kind === 'trace' ? [...ids] : [],
    texts: list.kind === 'text' ? ids.map((i) => list.texts[i] as string) : [],
    prompt_settings: promptSettingsFor(list, ids),
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
    // remote workers send thumbnails of what they scored; embedded ones hand the CLI their images in process
    previews: flags.contactSheets === true && flags.coordinator !== undefined,
    pool: flags.pool ?? '',
    deadline_s: flags.deadlineS === undefined ? 0 : parseNumberIn('--deadline-s', flags.deadlineS, { min: 0, max: 30 * 86_400, aboveMin: true }),
  };
  // a resubmission after a lost answer finds the same job instead of starting another
  return { ...request, request_id: requestIdFor(flags.requestId, request) };
}

/**
 * The job's request id: random per run, or with --request-id the caller's key joined to a digest of the request,
 * so that a rerun of the same search (a retried Kubernetes Job) re-attaches to the job it submitted, while the
 * same key with another request (a resumed --out that submits only the prompts left) starts its own job.
 */
function requestIdFor(key: string | undefined, request: SubmitJobRequest): string {
  if (key === undefined) return randomUUID();
  if (!/^[A-Za-z0-9._:-]{1,100}$/.test(key)) throw new ValidationError('--request-id', JSON.stringify(key), '1 to 100 letters, digits, dots, dashes, underscores or colons');
  return `${key}:${createHash('sha256').update(JSON.stringify(request)).digest('hex').slice(0, 16)}`;
}

async function openSession(flags: SearchFlags, art?: SearchArtifacts): Promise<SearchSession> {
  if (flags.coordinator) {
    const reconnectMs = parseInteger('--reconnect-timeout-s', 0, 86_400)(flags.reconnectTimeoutS) * 1000;
    const onLost = (job: string, err: Error): void =>
      void process.stderr.write(`ttsnap search: lost the coordinator (${err.message}); reconnecting for up to ${reconnectMs / 1000} s to follow job ${job}\n`);
    return remoteSession(parseHostPort(flags.coordinator, '--coordinator'), securityFrom(flags, 'search'), { reconnectMs, onLost });
  }
  const backendOptions = backendOptionsFrom(flags, ['reward']);
  const workers = parseInteger('--workers', 1, 256)(flags.workers);
  return embeddedSession({ backend: flags.backend ?? 'trace', backendOptions, workers, ...(art ? { previews: art } : {}) });
}

/** Request fields the coordinator names in its errors, as the flags that set them here. */
const FLAG_OF: Readonly<Record<string, string>> = {
  prompts: '--prompts', texts: 'texts', budget: '--budget', candidates: '--candidates', schedule: '--schedule',
  policy: '--policy', rewards: '--rewards', top_k: '--top-k', accounting: '--accounting', seed: '--seed',
  prompt_settings: '--prompts-file overrides', previews: '--contact-sheets',
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
    addTlsOptions(program.command('search'), 'client')
    .description('search for the best image per prompt (embedded coordinator and workers, or --coordinator HOST:PORT)')
    .argument('[texts...]', 'prompt texts (model backends)')
    .option('--coordinator <host:port>', 'submit to this coordinator instead of running embedded')
    .option('--request-id <key>', 'with --coordinator: submit idempotently under this key; rerunning the same search re-attaches to its job (default: a new job each run)')
    .option('--reconnect-timeout-s <s>', 'with --coordinator: how long to keep reconnecting to a coordinator that went away (a restart resumes the job)', '120')
    .option('--pool <name>', 'with --coordinator: the worker pool to run on: the model bundle or trace its workers run, or a pool id name@hash (default: the only pool)')
    .option('--deadline-s <s>', 'with --coordinator or embedded: cancel the job (exit 3, saying so) if it still runs this many seconds after submission')
    .option('--prompts <range>', 'trace prompt indices start:end (end exclusive; trace backend)')
    .option('--prompts-file <file>', 'prompts, one per line (texts, or trace row indices), or JSONL {"text": ...} / {"prompt": N}')
    .option('--budget <B>', 'budget per prompt in cost units (TFLOPs); N is derived from it')
    .option('--candidates <N>', 'candidates per prompt')
    .option('--schedule <spec>', `prune points step:alpha,... (default: the model bundle's, else ${DEFAULT_SCHEDULE})`)
    .option('--schedule-file <file>', 'schedule file written by `ttsnap tune` (its per-budget entry when present)')
    .option('--seed <S>', 'seed of the candidate draw and noise', '0')
    .option('--policy <name>', 'ttsnap | ttsp | bon', 'ttsnap')
    .option('--top-k <k>', 'finalists to report per prompt besides the winner', '0')
    .option('--rewards <names>', 'reward names, comma-separated (rank-summed); default the backend\'s first')
    .option('--reward <name>', 'same as --rewards (e.g. --reward quality, or --reward align,quality)')
    .option('--accounting <mode>', 'exact | paper', 'exact')
    .option('--json', 'print the result as JSON on stdout')
    .option('--quiet', 'no progress on stderr')
    .option('--out <dir>', 'write results.jsonl (one line per prompt as it finishes; a rerun resumes), report.json, report.html, charts and images here')
    .option('--contact-sheets', 'with --out, model backends (embedded, or --coordinator with onnx workers, which then send a thumbnail of each candidate at each prune step): also write images/<prompt>-sheet.png, each prompt\'s candidates at every prune step, as it finishes')
    .option('--backend <name>', 'embedded: worker backend (default: onnx for text prompts, trace for --prompts)')
    .option('--workers <n>', 'embedded: in-process workers', '1'),
  )
    .action(async (texts: string[], flags: SearchFlags, cmd: Command) => {
      if (flags.coordinator) parseHostPort(flags.coordinator, '--coordinator');
      const list = promptList(flags, texts);
      // the embedded default: text prompts run the bundled tiny model and write pictures to ./out
      flags.backend ??= list.kind === 'text' ? 'onnx' : 'trace';
      const pictures = flags.backend === 'onnx' && !flags.coordinator;
      if (pictures) flags.out ??= 'out';
      if (pictures && flags.budget === undefined) flags.candidates ??= '16';
      if (flags.backend === 'onnx' && !flags.coordinator && flags.schedule === undefined && !flags.scheduleFile) {
        flags.schedule = bundleSearchInfo(typeof flags.model === 'string' ? flags.model : defaultBundleDir()).schedule;
        // an empty default schedule is the bundle's best-of-N (the coordinator reads an empty one as its own default)
        if (flags.schedule === '' && cmd.getOptionValueSource('policy') === 'default') flags.policy = 'bon';
      }
      if (flags.contactSheets && !pictures && !flags.coordinator) throw new ValidationError('--contact-sheets', `given for the ${flags.backend} backend`, 'the embedded onnx backend, or --coordinator with model (onnx) workers');
      if (flags.contactSheets && flags.out === undefined) throw new ValidationError('--contact-sheets', 'given without --out', 'with --out DIR (the sheets are written to DIR/images)');
      const ids = promptIds(list);
      const results = flags.out === undefined ? null : ResultsFile.open(flags.out);
      const todo = results ? ids.filter((id) => !results.has(id)) : ids;
      const art = pictures ? new SearchArtifacts() : undefined;
      const session = await openSession(flags, art).catch((err: unknown) => {
        art?.close();
        results?.close();
        throw err;
      });
      try {
        const req = buildRequest(flags, list, todo, session.backend?.steps ?? null);
        const warnings = checkVariants(flags, req);
        for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
        const topK = Number(req.top_k ?? 0);
        let raw: JobResult | JobResult__Output = { prompts: [] };
        let state = 'done';
        // the job numbers text prompts by position in it, trace prompts by row: lineage and pictures use the user's ids
        const idOf = (jobPrompt: number): number => (list.kind === 'text' ? (todo[jobPrompt] as number) : jobPrompt);
        const lineage = new PruneLineage(idOf);
        if (todo.length > 0) {
          const { job, candidates, previews } = await session.submit(req).catch((err: unknown) => {
            throw asFlagError(err);
          });
          if (req.previews && !previews) {
            await session.cancel(job);
            throw new ValidationError('--contact-sheets', `the coordinator at ${flags.coordinator ?? ''} does not send previews (an older ttsnap); job ${job} was cancelled`, 'a coordinator of this ttsnap or later (upgrade it), or search without --contact-sheets');
          }
          const cancelOnSignal = nextSignal(['SIGINT']).signal.then(() => session.cancel(job));
          void cancelOnSignal;
          const { progressReporter } = await import('../render/search-progress/reporter.js'); // cli-progress: not for --help
          const progress = flags.json || flags.quiet ? undefined : progressReporter(process.stderr, { prompts: todo.length, planPerPrompt: planPerPrompt(req, session.backend, candidates) });
          // Each prompt is written (and fsynced) as it finishes, under its id in the user's list.
          const asLine = (p: PromptResult | PromptResult__Output) => ({ ...promptJson(p, topK), prompt: todo[Number(p.position ?? 0)] as number });
          const sheets = flags.contactSheets && flags.out ? sheetSource(flags.out, art, list, todo, session, job, lineage) : null;
          // with contact sheets, pictures are drawn off the event loop's turn: lines wait for them, in order
          let written = Promise.resolve();
          const watched = await session.watch(job, (e) => {
            lineage.onEvent(e);
            progress?.onEvent(e);
            if (!e.prompt_done) return;
            const line = asLine(e.prompt_done);
            const jobPrompt = Number(e.prompt_done.prompt ?? 0);
            const png = e.prompt_done.winner?.image;
            // the pictures first: a prompt whose line is written has its pictures too
            if (flags.out && png instanceof Uint8Array && png.length > 0) writePromptImage(flags.out, line.prompt, png);
            if (!sheets) results?.append(line);
            else written = written.then(async () => {
              // resvg loads only when a sheet is asked for: `search --help` stays fast
              const { writePromptSheet } = await import('../render/search-report/prompt-sheet-file.js');
              await sheets.fetch?.(jobPrompt, line.prompt);
              await writePromptSheet(sheets.dir, line, lineage, sheets.previews);
              sheets.done?.(line);
              results?.append(line);
            });
          });
          await written;
          progress?.stop();
          state = watched.state;
          // The result comes with the events (a draining coordinator may be gone right after); else page it.
          raw = watched.result ?? (await session.result(job));
          if (raw.store_error) process.stderr.write(`warning: job ${job}: ${raw.store_error}\n`);
          for (const p of raw.prompts ?? []) results?.append(asLine(p));
          raw = { ...raw, prompts: (raw.prompts ?? []).map((p) => ({ ...p, prompt: todo[Number(p.position ?? 0)] as number })) };
        }
        const report = resultJson(raw, topK);
        // prompts in the user's order, those of earlier runs (same --out) included; the variant warnings recorded
        const doc = { ...(results ? { ...report, prompts: ids.map((id) => results.get(id)).filter((p) => p !== undefined) } : report), ...(warnings.length ? { warnings } : {}) };
        if (flags.out) {
          const previews = art ? userPreviews(art, list, todo) : null;
          // vega, resvg and sharp load only when there is something to draw: `search --help` stays fast
          const { writeSearchOutputs } = await import('../render/search-report/write-outputs.js');
          const files = await writeSearchOutputs(flags.out, { report: doc, lineage, previews, cost: session.backend?.cost ?? null });
          // Winners' images where the workers render them (model backends on remote workers).
          for (const p of art ? [] : (raw.prompts ?? [])) {
            const png = p.winner?.image;
            if (png && png.length > 0) writeFileSync(join(flags.out, `prompt-${p.prompt}-winner.png`), png);
          }
          if (!flags.json && !flags.quiet) process.stderr.write(`wrote ${files.join(', ')}\n`);
        }
        process.stdout.write(flags.json ? `${JSON.stringify(doc)}\n` : summaryText(doc));
        if (state !== 'done') {
          process.stderr.write(`ttsnap search: job ended ${state}${raw.error ? `: ${raw.error}` : ''}\n`);
          process.exitCode = exitCodeForJobState(state);
        }
      } finally {
        await session.close();
        art?.close();
        results?.close();
      }
    });
}
