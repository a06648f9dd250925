import { ValidationError } from '../core/errors.js';
import { parseNumberIn } from '../core/number-range.js';

/** Parsers for flag values shared by several commands; they throw naming the flag and the allowed range. */

export function parseRange(value: string, flag: string): [number, number] {
  const m = /^(\d+):(\d+)$/.exec(value.trim());
  if (!m) throw new ValidationError(flag, `cannot read '${value}'`, 'start:end with integers, start < end (end exclusive)');
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end <= start) throw new ValidationError(flag, `${value} is empty or inverted`, 'start:end with start < end (end exclusive)');
  return [start, end];
}

/** start:end:step, inclusive of end. */
export function parseBudgetGrid(value: string, flag = '--budgets'): number[] {
  const parts = value.split(':').map((s) => Number(s.trim()));
  const [start, end, step] = parts;
  if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x)) || start === undefined || end === undefined || step === undefined) {
    throw new ValidationError(flag, `cannot read '${value}'`, 'start:end:step with numbers, inclusive of end');
  }
  if (start <= 0 || step <= 0 || end < start) throw new ValidationError(flag, `${value} is empty, inverted or not positive`, '0 < start <= end, step > 0');
  const out: number[] = [];
  const n = Math.floor((end - start) / step + 1e-9);
  if (n > 10_000) throw new ValidationError(flag, `${value} has ${n + 1} budgets`, 'at most 10001 budgets');
  for (let i = 0; i <= n; i++) out.push(Number((start + i * step).toPrecision(12)));
  return out;
}

/** An integer flag in [min, max], as a commander-style parser (core/number-range.ts does the checking). */
export function parseInteger(flag: string, min: number, max: number): (value: string) => number {
  return (value: string) => parseNumberIn(flag, value, { min, max, integer: true });
}
