import { ValidationError } from './errors.js';

/** The numbers a flag or field allows; the error message is written from it. */
export interface NumberRange {
  readonly min: number;
  /** Infinity for no upper bound */
  readonly max: number;
  readonly integer?: boolean;
  /** min itself is not allowed: (min, max] */
  readonly aboveMin?: boolean;
  /** what the number counts, for the message ("a number of seconds in ...") */
  readonly unit?: string;
}

/** "an integer in [1, 8]", "a number of seconds in (0, 86400]", "a number > 0". */
export function describeRange(r: NumberRange): string {
  const what = `${r.integer ? 'an integer' : 'a number'}${r.unit ? ` of ${r.unit}` : ''}`;
  if (r.max === Infinity) return `${what} ${r.aboveMin ? '>' : '>='} ${r.min}`;
  return `${what} in ${r.aboveMin ? '(' : '['}${r.min}, ${r.max}]`;
}

/**
 * The one parser of numeric flag and option values (CLI flags, backend options): a finite number inside the
 * range, else a ValidationError naming the field, what it got and what is allowed.
 */
export function parseNumberIn(field: string, raw: string | number | boolean | undefined, r: NumberRange): number {
  const v = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  const inside = Number.isFinite(v) && (r.aboveMin ? v > r.min : v >= r.min) && v <= r.max && (!r.integer || Number.isInteger(v));
  if (!inside) throw new ValidationError(field, `got '${String(raw)}'`, describeRange(r));
  return v;
}
