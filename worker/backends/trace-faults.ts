import { Rng } from '../../core/engine/rng.js';
import { ValidationError } from '../../core/errors.js';

/**
 * Faults the trace backend can inject, for tests and drills: `hang-after=N` makes every backend call after the
 * first N hang (a stuck accelerator call: it ignores cancellation, only close() ends it), `throw=P` makes each
 * call throw with probability P (1 = every call), drawn from a generator seeded by `seed=S` (default 1) so a
 * drill repeats exactly. Given as one flag: `--fault hang-after=40` or `--fault throw=0.2,seed=7`.
 */
export interface TraceFaultSpec {
  readonly hangAfter: number | null;
  readonly throwP: number;
  readonly seed: number;
}

export const NO_FAULTS: TraceFaultSpec = { hangAfter: null, throwP: 0, seed: 1 };

const ALLOWED = 'comma-separated hang-after=N (integer >= 0), throw=P (0..1), seed=S (integer)';

export function parseTraceFaults(spec: string): TraceFaultSpec {
  let out: TraceFaultSpec = NO_FAULTS;
  for (const part of spec.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const [key, raw = ''] = part.split('=', 2) as [string, string?];
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v)) throw new ValidationError('--fault', `cannot read '${part}'`, ALLOWED);
    if (key === 'hang-after' && Number.isInteger(v) && v >= 0) out = { ...out, hangAfter: v };
    else if (key === 'throw' && v >= 0 && v <= 1) out = { ...out, throwP: v };
    else if (key === 'seed' && Number.isInteger(v)) out = { ...out, seed: v };
    else throw new ValidationError('--fault', `cannot read '${part}'`, ALLOWED);
  }
  return out;
}

/** Thrown by an injected `throw` fault (its own class, so tests and logs tell it from a real failure). */
export class InjectedFault extends Error {
  constructor(call: string, n: number) {
    super(`injected fault: ${call} call ${n} throws`);
    this.name = 'InjectedFault';
  }
}

/** Applies a TraceFaultSpec to the backend's calls, counting them. */
export class TraceFaults {
  private calls = 0;
  private readonly rng: Rng;
  private readonly hung = new Set<(err: Error) => void>();

  constructor(readonly spec: TraceFaultSpec) {
    this.rng = new Rng(spec.seed);
  }

  /** Called at the start of each advance / score call: throws or hangs as configured. */
  async enter(call: 'advance' | 'score'): Promise<void> {
    const n = ++this.calls;
    const { hangAfter, throwP } = this.spec;
    if (throwP > 0 && (throwP >= 1 || this.rng.nextU32() / 0x1_0000_0000 < throwP)) throw new InjectedFault(call, n);
    if (hangAfter !== null && n > hangAfter) {
      await new Promise<never>((_, reject) => this.hung.add(reject));
    }
  }

  /** Ends hung calls (with an error), as a process exit would. */
  release(): void {
    for (const reject of this.hung) reject(new Error('the backend was closed during a hung call'));
    this.hung.clear();
  }
}
