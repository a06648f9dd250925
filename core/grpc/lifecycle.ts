/** Resolves with the first of `signals` the process receives (then stops listening). Only commands call this. */
export function nextSignal(signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (sig: NodeJS.Signals): void => {
      for (const s of signals) process.off(s, handler);
      resolve(sig);
    };
    for (const s of signals) process.on(s, handler);
  });
}

/** Remote INVALID_ARGUMENT details ("field: problem; allowed: range") split back into parts. */
export function splitValidation(details: string): { field: string; problem: string; allowed: string } | null {
  const m = /^([^:]+): (.*); allowed: (.*)$/s.exec(details);
  return m ? { field: m[1] as string, problem: m[2] as string, allowed: m[3] as string } : null;
}
