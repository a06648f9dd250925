/**
 * Numbers in JSON documents that cross processes (score messages, the job journal). JSON has no NaN or
 * infinities (JSON.stringify writes null), yet a broken reward model's NaN must arrive as NaN to rank last, so
 * those three travel as the strings "NaN", "Infinity" and "-Infinity".
 */
export type JsonNumber = number | 'NaN' | 'Infinity' | '-Infinity';

export function toJsonNumber(v: number): JsonNumber {
  return Number.isFinite(v) ? v : (String(v) as 'NaN' | 'Infinity' | '-Infinity');
}

/** The number a JsonNumber stands for; null for anything else. */
export function fromJsonNumber(x: unknown): number | null {
  if (typeof x === 'number') return x;
  return x === 'NaN' || x === 'Infinity' || x === '-Infinity' ? Number(x) : null;
}
