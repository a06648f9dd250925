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
