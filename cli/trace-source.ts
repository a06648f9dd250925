import { ValidationError } from '../core/errors.js';
import { loadRewardTrace, type RewardTrace } from '../core/trace/reward-trace.js';
import { syntheticTrace } from '../core/trace/synthetic.js';
import { listTracePairs } from '../core/trace/trace-dir.js';
import { parseInteger } from './options.js';

/** The trace flags that simulate and tune share. */
export interface TraceSourceFlags {
  base?: string;
  narf?: string;
  traceDir?: string;
  synthetic?: string | true;
}

/** Exactly one source of traces: --base [--narf], --trace-dir or --synthetic [seed]. */
export function loadTraceSource(flags: TraceSourceFlags): RewardTrace[] {
  const given = [flags.base && '--base', flags.traceDir && '--trace-dir', flags.synthetic !== undefined && '--synthetic'].filter(Boolean);
  if (given.length !== 1) {
    throw new ValidationError(
      given.length ? given.join(' and ') : 'traces',
      given.length ? 'given together' : 'none given',
      'exactly one of --base FILE [--narf FILE], --trace-dir DIR, --synthetic [SEED]',
    );
  }
  if (flags.narf && !flags.base) throw new ValidationError('--narf', 'given without --base', '--narf together with --base');
  if (flags.base) return [loadRewardTrace(flags.base, flags.narf)];
  if (flags.traceDir) return listTracePairs(flags.traceDir).map((p) => loadRewardTrace(p.base, p.narf, p.name));
  const seed = flags.synthetic === true ? 0 : parseInteger('--synthetic', 0, 2 ** 32 - 1)(flags.synthetic as string);
  return [syntheticTrace({ seed })];
}
