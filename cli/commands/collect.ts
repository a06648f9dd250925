import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { BadFileError, ValidationError } from '../../core/errors.js';
import type { BackendInfo } from '../../core/contract/backend-info.js';
import type { CollectSource } from '../../core/contract/collect.js';
import { parseHostPort } from '../../core/grpc/address.js';
import { CoordinatorGrpcClient } from '../../coordinator/client.js';
import { collectSourceVia } from '../../coordinator/collect/client.js';
import { runCollect, type CollectDriver, type CollectProgress } from '../../process/collect/collect.js';
import { embeddedDriver } from '../../process/collect/embedded.js';
import { remoteDriver } from '../../process/collect/remote.js';
import type { CollectSpec } from '../../process/collect/spec.js';
import { CollectStore } from '../../process/collect/store.js';
import { nextSignal } from '../../process/lifecycle.js';
import type { WorkerBackend } from '../../worker/backend.js';
import { createBackend } from '../../worker/backends/registry.js';
import { collectSourceOf } from '../../worker/collect/source.js';
import { addBackendOptions, backendOptionsFrom } from '../backend-options.js';
import { parseInteger, parseRange } from '../options.js';
import { addTlsOptions, securityFrom } from '../security-options.js';

interface CollectFlags {
  promptsFile?: string;
  prompts?: string;
  seeds: string;
  seed: string;
  rewards?: string;
  out: string;
  saveTweedie?: string | true;
  backend: string;
  workers: string;
  coordinator?: string;
  json?: boolean;
  [backendFlag: string]: string | boolean | undefined;
}

export function registerCollect(program: Command): void {
  addTlsOptions(addBackendOptions(
    program
      .command('collect')
      .description(
        'record reward traces from a model: every candidate of every prompt denoised to the end, its Tweedie estimate scored at every step by every reward (base, and noise-aware where the bundle has a variant); writes <reward>_base.npy and <reward>_narf.npy [P, I, S] and meta.json, which simulate, tune and narf eval read',
      )
      .option('--prompts-file <file>', 'prompt texts, one per line (model backends)')
      .option('--prompts <range>', 'trace prompt rows start:end (trace backend)')
      .option('--seeds <I>', 'candidates per prompt; candidate i is the one `search --seed S` runs as its i-th', '16')
      .option('--seed <S>', 'as `search --seed`', '0')
      .option('--rewards <names>', "comma-separated (default: every reward the backend has)")
      .requiredOption('--out <dir>', 'output folder; rerunning the same command resumes (finished prompts are skipped)')
      .option('--save-tweedie [steps]', 'also save the decoded Tweedie estimates (tweedie/pNNNNN.npy [I, steps, 3*H*W]) at these comma-separated steps (default every step), for NARF training')
      .option('--backend <name>', 'onnx | trace', 'onnx')
      .option('--workers <n>', 'embedded workers, each taking the next unfinished prompt', '1')
      .option('--coordinator <host:port>', "collect on this coordinator's workers instead of embedded ones (their bundle or trace; backend flags are theirs)")
      .option('--json', 'print the summary as JSON on stdout'),
  ), 'client').action(async (flags: CollectFlags) => {
    const seeds = parseInteger('--seeds', 1, 100_000)(flags.seeds);
    const seed = parseInteger('--seed', 0, 2 ** 32 - 1)(flags.seed);
    const workers = parseInteger('--workers', 1, 256)(flags.workers);
    const prompts = readPrompts(flags);
    const backends: WorkerBackend[] = [];
    let client: CoordinatorGrpcClient | null = null;
    try {
      let info: BackendInfo;
      let source: CollectSource;
      if (flags.coordinator) {
        client = new CoordinatorGrpcClient(parseHostPort(flags.coordinator, '--coordinator'), securityFrom(flags, 'collect'));
        const remote = await collectSourceVia(client);
        ({ info } = remote);
        source = remote;
      } else {
        const opts = backendOptionsFrom(flags);
        for (let w = 0; w < workers; w++) backends.push(await createBackend(flags.backend, opts));
        ({ info } = backends[0] as WorkerBackend);
        source = collectSourceOf(flags.backend, opts, info.steps, info.rewards[0] as string);
      }
      const spec = compileSpec(flags, info, prompts, seeds, seed, source);
      const driver: CollectDriver = client ? remoteDriver(client, spec) : embeddedDriver(backends, spec);
      const store = CollectStore.open(flags.out, spec);
      const abort = new AbortController();
      const interrupt = nextSignal(['SIGINT']);
      void interrupt.signal.then(() => abort.abort(new Error('interrupted: rerun the same command to resume')));
      const summary = await runCollect(driver, store, { signal: abort.signal, onProgress: progressPrinter(flags.json === true) }).finally(() => interrupt.stop());
      if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else {
        process.stdout.write(
          `collected ${summary.prompts} prompts x ${seeds} candidates x ${spec.steps} steps (${summary.skipped} from an earlier run) in ${summary.seconds.toFixed(1)} s: ` +
            `${summary.candidates_per_second.toFixed(2)} candidates/s, ${summary.cost_per_second.toPrecision(4)} cost units/s (${summary.ledger.denoise_steps} denoise steps, ${Object.values(summary.ledger.reward_calls).reduce((a, b) => a + b, 0)} reward calls)\nwrote ${summary.files.join(', ')}\n`,
        );
      }
    } finally {
      client?.close();
      await Promise.all(backends.map((b) => b.close()));
    }
  });
}

interface Prompts {
  readonly texts: string[];
  readonly ids: number[];
}

function readPrompts(flags: CollectFlags): Prompts {
  if ((flags.promptsFile === undefined) === (flags.prompts === undefined)) {
    throw new ValidationError('--prompts-file', flags.prompts ? 'given with --prompts' : 'missing', 'exactly one of --prompts-file FILE (model backends) or --prompts a:b (trace backend)');
  }
  if (flags.prompts) {
    const [a, b] = parseRange(flags.prompts, '--prompts');
    const ids = Array.from({ length: b - a }, (_, i) => a + i);
    return { texts: ids.map(() => ''), ids };
  }
  let text: string;
  try {
    text = readFileSync(flags.promptsFile as string, 'utf8');
  } catch (err) {
    throw new BadFileError(flags.promptsFile as string, `cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)}); expected prompt texts, one per line`, { cause: err });
  }
  const texts = text.split('\n').map((l) => l.trim()).filter(Boolean);
  if (texts.length === 0) throw new BadFileError(flags.promptsFile as string, 'holds no prompt; expected prompt texts, one per line');
  // as in a search job of these texts: prompt i has index i
  return { texts, ids: texts.map((_, i) => i) };
}

function compileSpec(flags: CollectFlags, info: BackendInfo, prompts: Prompts, candidates: number, seed: number, source: CollectSource): CollectSpec {
  const trace = info.tracePrompts > 0;
  if (trace && flags.promptsFile) throw new ValidationError('--prompts-file', `the ${info.backend} backend replays a trace`, '--prompts a:b (trace rows)');
  if (!trace && flags.prompts) throw new ValidationError('--prompts', `the ${info.backend} backend takes text prompts`, '--prompts-file FILE');
  if (trace && (prompts.ids.at(-1) as number) >= info.tracePrompts) throw new ValidationError('--prompts', `reaches row ${prompts.ids.at(-1)}`, `rows of the trace, end <= ${info.tracePrompts}`);
  if (trace && candidates > info.traceCandidates) throw new ValidationError('--seeds', `${candidates} candidates`, `at most the trace's ${info.traceCandidates} columns`);
  const rewards = flags.rewards ? flags.rewards.split(',').map((s) => s.trim()).filter(Boolean) : [...info.rewards];
  for (const r of rewards) if (!info.rewards.includes(r)) throw new ValidationError('--rewards', `unknown reward '${r}'`, info.rewards.join(' | '));
  const S = info.steps;
  let saveTweedie: number[] = [];
  if (flags.saveTweedie === true) saveTweedie = Array.from({ length: S }, (_, s) => s);
  else if (typeof flags.saveTweedie === 'string') {
    saveTweedie = [...new Set(flags.saveTweedie.split(',').map((x) => parseInteger('--save-tweedie', 0, S - 1)(x.trim())))].sort((a, b) => a - b);
  }
  if (saveTweedie.length > 0 && !info.renders) throw new ValidationError('--save-tweedie', `the ${info.backend} backend has no images`, 'a model backend (onnx)');
  return {
    texts: prompts.texts,
    promptIds: prompts.ids,
    candidates,
    seed,
    rewards,
    steps: S,
    variantSteps: Object.fromEntries(rewards.map((r) => [r, (source.variantSteps[r] ?? []).filter((s) => s < S - 1)])),
    saveTweedie,
    pool: trace ? info.traceCandidates : 0,
    cost: info.cost,
    source: { name: source.name, fingerprint: source.fingerprint },
  };
}

/** One line per finished prompt on stderr (rewritten in place on a terminal): prompts, rate, time left. */
function progressPrinter(quiet: boolean): (p: CollectProgress) => void {
  const tty = Boolean(process.stderr.isTTY);
  return (p) => {
    if (quiet && !tty) return;
    const left = Number.isFinite(p.secondsLeft) ? `${p.secondsLeft.toFixed(0)} s left` : '';
    const line = `collect: ${p.done}/${p.total} prompts, ${p.candidatesPerSecond.toFixed(2)} candidates/s, ${p.costPerSecond.toPrecision(3)} cost units/s, ${left}`;
    process.stderr.write(tty ? `\r\x1b[K${line}${p.done === p.total ? '\n' : ''}` : `${line}\n`);
  };
}
