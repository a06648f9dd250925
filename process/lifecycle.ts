import { createLogger, type Logger } from '../core/log/logger.js';

/** Where a process object is in its life; every process goes through these in order, skipping none but draining. */
export type ProcessState = 'starting' | 'serving' | 'draining' | 'stopped';

/** One named shutdown step (closing a server, the bus, the metrics endpoint...). */
export type CloseStep = readonly [what: string, run: () => unknown];

/**
 * Runs every step in order even when some fail, so that a failed step never leaves the bus or a server open;
 * then throws the first failure (with all of them attached when there were several).
 */
export async function runAll(steps: readonly CloseStep[]): Promise<void> {
  const failures: Error[] = [];
  for (const [what, run] of steps) {
    try {
      await run();
    } catch (err) {
      failures.push(new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
    }
  }
  if (failures.length === 1) throw failures[0] as Error;
  if (failures.length > 1) throw new AggregateError(failures, failures.map((f) => f.message).join('; '));
}

/** Resolves with the first of `signals` the process receives (then stops listening). Only process objects call this. */
export function nextSignal(signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): { signal: Promise<NodeJS.Signals>; stop(): void } {
  let stop = (): void => {};
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    const handler = (sig: NodeJS.Signals): void => {
      stop();
      resolve(sig);
    };
    stop = () => {
      for (const s of signals) process.off(s, handler);
    };
    for (const s of signals) process.on(s, handler);
  });
  return { signal, stop };
}

/**
 * What every process object shares: the state, the shutdown steps its parts register as they come up, and a
 * start that closes whatever came up when a later part fails. Subclasses bring their parts up in open().
 */
export abstract class ProcessBase {
  protected current: ProcessState = 'starting';
  /** shutdown steps, in the order close() runs them */
  protected readonly steps: [string, () => unknown][] = [];
  /** where the process says what it does: JSON lines on stderr by default (core/log) */
  protected readonly log: Logger;

  /** `kind` is the `process` field of every log record */
  protected constructor(kind: string, log?: Logger) {
    this.log = log ?? createLogger({ process: kind });
  }

  get state(): ProcessState {
    return this.current;
  }

  protected abstract open(): Promise<void>;

  /** open(), then serving; on failure closes what came up and rethrows. */
  protected async boot(): Promise<void> {
    try {
      await this.open();
    } catch (err) {
      await this.close().catch(() => undefined);
      throw err;
    }
    this.current = 'serving';
  }

  /** Idempotent: runs every shutdown step even when one fails (see runAll). */
  async close(): Promise<void> {
    if (this.current === 'stopped') return;
    this.current = 'stopped';
    await runAll(this.steps.splice(0));
  }
}

/**
 * Shutdown always ends: once a stop signal has arrived, the process exits at the latest `ms` later, whatever is
 * gone (NATS, the coordinator, workers) and whatever a close step still waits on. Unref'd: a clean exit comes first.
 */
export function armShutdownDeadline(ms: number, log: Logger): void {
  setTimeout(() => {
    log.error(`shutdown still under way ${Math.round(ms / 1000)} s after the signal; exiting`);
    process.exit();
  }, ms).unref();
}
