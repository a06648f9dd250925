import type { Command } from 'commander';
import { parseHostPort } from '../../core/grpc/address.js';
import { CoordinatorGrpcClient } from '../../coordinator/client.js';
import { resultJson } from '../../coordinator/result.js';
import { EXIT, exitCodeForJobState } from '../exit-codes.js';
import { parseInteger } from '../options.js';
import { addTlsOptions, securityFrom } from '../security-options.js';
import type { JobEvent, JobEvent__Output } from '../../core/generated/ttsnap/v1/JobEvent.js';
import { summaryText } from '../render/search-summary.js';
import { eventNote, progressReporter, type ProgressReporter } from '../render/search-progress/reporter.js';
import { formatTable } from '../render/table.js';

interface JobsFlags {
  coordinator: string;
  json?: boolean;
  limit: string;
  reconnectTimeoutS: string;
}

/** Runs one operator action against the coordinator, closing the client whatever happens. */
async function withClient(flags: JobsFlags, act: (client: CoordinatorGrpcClient) => Promise<void>): Promise<void> {
  const security = securityFrom(flags, 'jobs');
  const client = new CoordinatorGrpcClient(parseHostPort(flags.coordinator, '--coordinator'), security);
  try {
    await act(client);
  } finally {
    client.close();
    security.close();
  }
}

/**
 * Progress of a job followed from outside: its size is not known here, so the reporter starts at the first
 * event that carries the prompt count (a budget event) and is handed the events seen before it.
 */
function watchProgress(stream: NodeJS.WriteStream): ProgressReporter {
  let reporter: ProgressReporter | null = null;
  const early: JobEvent[] = [];
  return {
    onEvent(e) {
      if (!reporter && e.budget) {
        reporter = progressReporter(stream, { prompts: Number(e.budget.prompts ?? 0), planPerPrompt: null });
        for (const x of early.splice(0)) reporter.onEvent(x);
      }
      if (reporter) return reporter.onEvent(e);
      // a note cannot wait for the first budget event: a job waiting for a worker may not finish a prompt for long
      const note = eventNote(e);
      if (note) stream.write(`${note}\n`);
      else early.push(e);
    },
    stop: () => reporter?.stop(),
  };
}

/**
 * `ttsnap jobs list|watch|result|cancel --coordinator HOST:PORT`: the operator's view of a running cluster. Exit
 * codes as in cli/exit-codes.ts (watch: the job's final state; 4 past --reconnect-timeout-s).
 */
export function registerJobs(program: Command): void {
  const jobs = program.command('jobs').description('list, follow, read, cancel and delete the jobs of a running coordinator');
  const common = (cmd: Command): Command =>
    addTlsOptions(cmd, 'client').requiredOption('--coordinator <host:port>', 'the coordinator to ask').option('--json', 'print JSON on stdout');

  common(jobs.command('list').description('jobs, newest first'))
    .option('--limit <n>', 'at most this many', '100')
    .action(async (flags: JobsFlags) => {
      const limit = parseInteger('--limit', 1, 1000)(flags.limit);
      await withClient(flags, async (client) => {
        const list = await client.list(limit);
        if (flags.json) return void process.stdout.write(`${JSON.stringify(list)}\n`);
        const rows = list.map((j) => [j.job, j.store_error ? `${j.state} (not stored)` : j.waiting ? `${j.state} (waiting)` : j.state, `${j.prompts_done}/${j.prompts}`, String(j.candidates_per_prompt), Number(j.cost).toPrecision(4), j.pool || '-', j.label]);
        process.stdout.write(`${formatTable(['job', 'state', 'prompts', 'N', 'cost', 'pool', 'label'], rows, { labels: true })}\n`);
        for (const j of list) if (j.store_error) process.stderr.write(`warning: job ${j.job}: ${j.store_error}\n`);
        for (const j of list) if (j.waiting) process.stderr.write(`job ${j.job} waits: ${j.waiting}\n`);
      });
    });

  common(jobs.command('watch').description('follow a job until it ends (riding out a coordinator restart)').argument('<job>', 'job id'))
    .option('--reconnect-timeout-s <s>', 'how long to keep reconnecting to a coordinator that went away', '120')
    .action(async (job: string, flags: JobsFlags) => {
      const reconnectMs = parseInteger('--reconnect-timeout-s', 0, 86_400)(flags.reconnectTimeoutS) * 1000;
      await withClient(flags, async (client) => {
        const progress = flags.json ? null : watchProgress(process.stderr);
        const onEvent = (e: JobEvent__Output): void => (progress ? progress.onEvent(e) : void process.stdout.write(`${JSON.stringify(e)}\n`));
        const done = await client
          .watchDurably(job, onEvent, reconnectMs, (err) =>
            void process.stderr.write(`ttsnap jobs: lost the coordinator (${err.message}); reconnecting for up to ${reconnectMs / 1000} s\n`),
          )
          .finally(() => progress?.stop());
        const state = done.done?.state ?? 'done';
        if (!flags.json) process.stderr.write(`job ${job} ${state}${done.done?.error ? `: ${done.done.error}` : ''}\n`);
        const storeError = done.done?.result?.store_error;
        if (storeError) process.stderr.write(`warning: job ${job}: ${storeError}\n`);
        process.exitCode = exitCodeForJobState(state);
      });
    });

  common(jobs.command('result').description("a job's result (as `search --json` prints it)").argument('<job>', 'job id'))
    .action(async (job: string, flags: JobsFlags) => {
      await withClient(flags, async (client) => {
        const doc = resultJson(await client.result(job), 0);
        process.stdout.write(flags.json ? `${JSON.stringify(doc)}\n` : summaryText(doc));
      });
    });

  common(jobs.command('delete').description('forget an ended job: its stored result, its journal and the coordinator\'s copy').argument('<job>', 'job id'))
    .action(async (job: string, flags: JobsFlags) => {
      await withClient(flags, async (client) => {
        const gone = await client.delete(job);
        const what = [gone.in_memory && 'in memory', gone.stored && 'stored result', gone.journal && 'journal'].filter(Boolean).join(', ');
        process.stdout.write(flags.json ? `${JSON.stringify({ job, ...gone })}\n` : `job ${job} deleted (${what})\n`);
      });
    });

  common(jobs.command('cancel').description('cancel a job; prints its state').argument('<job>', 'job id'))
    .action(async (job: string, flags: JobsFlags) => {
      await withClient(flags, async (client) => {
        const state = await client.cancel(job);
        process.stdout.write(flags.json ? `${JSON.stringify({ job, state })}\n` : `job ${job} ${state}\n`);
        process.exitCode = EXIT.done;
      });
    });
}
