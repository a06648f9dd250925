/**
 * The human form of a log record on a terminal: `12:03:04 INFO  coordinator job=j1-x prompt=3  job accepted`.
 * A dozen lines instead of pino-pretty, which brings its own dependencies and runs as a worker-thread transport
 * for what here is one short line per event.
 */
import type { DestinationStream } from 'pino';

const OMIT = new Set(['level', 'time', 'msg', 'process', 'pid', 'hostname']);

/** One JSON record -> one human line (with a newline); lines that are not JSON pass through unchanged. */
export function prettyLine(json: string): string {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const time = typeof r.time === 'string' ? r.time.slice(11, 19) : '';
  const level = String(r.level ?? '').toUpperCase().padEnd(5);
  const fields = Object.entries(r)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${level} ${String(r.process ?? '')}${fields ? ` ${fields}` : ''}  ${String(r.msg ?? '')}\n`;
}

export function prettyStream(out: NodeJS.WritableStream): DestinationStream {
  return { write: (line: string) => void out.write(prettyLine(line)) };
}
