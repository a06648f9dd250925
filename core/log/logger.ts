/**
 * Structured logs of the long-running processes (coordinator, worker): one JSON object per line on stderr, with
 * `level` as a word, an ISO `time`, the process kind and id, and the ids an event is about (`job`, `prompt`,
 * `worker`), so that a log store can filter by job or worker. On a terminal the same records print as short
 * human lines (pretty.ts). Client commands (search, jobs, simulate...) do not use this: they talk to people.
 */
import { destination, pino, stdTimeFunctions, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { prettyStream } from './pretty.js';

export type Logger = PinoLogger;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
const LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export interface LoggerOptions {
  /** which process writes: 'coordinator' or 'worker' (the `process` field) */
  readonly process: string;
  /** default from TTSNAP_LOG_LEVEL, else info */
  readonly level?: LogLevel;
  /** 'json' or 'pretty'; default from TTSNAP_LOG_FORMAT, else pretty on a terminal and json otherwise */
  readonly format?: 'json' | 'pretty';
  /** default stderr */
  readonly destination?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Reads the level and format from the environment; throws naming the variable on a value it cannot use. */
export function logSettings(env: NodeJS.ProcessEnv = process.env): { level?: LogLevel; format?: 'json' | 'pretty' } {
  const level = env.TTSNAP_LOG_LEVEL;
  const format = env.TTSNAP_LOG_FORMAT;
  if (level !== undefined && !(LEVELS as readonly string[]).includes(level)) throw new Error(`TTSNAP_LOG_LEVEL: got '${level}'; allowed: ${LEVELS.join(' | ')}`);
  if (format !== undefined && format !== 'json' && format !== 'pretty') throw new Error(`TTSNAP_LOG_FORMAT: got '${format}'; allowed: json | pretty`);
  return { ...(level ? { level: level as LogLevel } : {}), ...(format ? { format } : {}) };
}

export function createLogger(o: LoggerOptions): Logger {
  const env = logSettings();
  const out = o.destination ?? process.stderr;
  const format = o.format ?? env.format ?? (out.isTTY ? 'pretty' : 'json');
  // Synchronous writes: a process that exits right after an error still prints it, and volume is low (events, not steps).
  const stream: DestinationStream = format === 'pretty' ? prettyStream(out) : out === process.stderr ? destination({ fd: 2, sync: true }) : out;
  return pino(
    {
      level: o.level ?? env.level ?? 'info',
      base: { process: o.process },
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}

/** Discards everything: tests, embedded mode without logs. */
export const NO_LOG: Logger = pino({ enabled: false });
