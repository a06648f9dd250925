import { ValidationError } from '../errors.js';

/** Checks HOST:PORT (port 0 allowed when `allowZero`, to let the OS pick); throws naming the flag. */
export function parseHostPort(value: string, flag: string, allowZero = false): string {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : -1;
  if (!m || port > 65535 || (port === 0 && !allowZero)) {
    throw new ValidationError(flag, `cannot read '${value}'`, `HOST:PORT with a port in [${allowZero ? 0 : 1}, 65535]`);
  }
  return `${m[1]}:${port}`;
}
