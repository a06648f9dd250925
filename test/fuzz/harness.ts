import fc from 'fast-check';
import { expect } from 'vitest';
import { BadFileError, ValidationError } from '../../core/errors.js';

/**
 * Fuzz settings: CI runs a fixed seed and a few thousand cases per target; `npm run fuzz` sets FUZZ_RUNS (and
 * FUZZ_SEED, default random) for a longer run. Every target prints its count so that a run says what it covered.
 */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
export const FUZZ_SEED = process.env.FUZZ_SEED === 'random' ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED ?? 20261130);

export interface FuzzOutcome {
  readonly cases: number;
  readonly accepted: number;
  readonly refused: number;
  readonly slowestMs: number;
}

/**
 * Runs `target` on `runs` generated inputs. Each must return (accepted) or throw a ValidationError/BadFileError
 * whose message names what was wrong (refused); anything else (TypeError, RangeError, a hang...) is a crash
 * that fast-check shrinks and reports.
 */
export function fuzz<T>(name: string, arb: fc.Arbitrary<T>, target: (input: T) => unknown, runs = FUZZ_RUNS): FuzzOutcome {
  let cases = 0;
  let accepted = 0;
  let refused = 0;
  let slowestMs = 0;
  fc.assert(
    fc.property(arb, (input) => {
      cases += 1;
      const t0 = performance.now();
      try {
        target(input);
        accepted += 1;
      } catch (err) {
        if (!(err instanceof ValidationError || err instanceof BadFileError)) throw err;
        if (!/\S+: .+/.test(err.message)) throw new Error(`refusal without a field: '${err.message}'`);
        refused += 1;
      } finally {
        slowestMs = Math.max(slowestMs, performance.now() - t0);
      }
    }),
    { seed: FUZZ_SEED, numRuns: runs },
  );
  process.stdout.write(`fuzz ${name}: ${cases} cases (${accepted} accepted, ${refused} refused), 0 crashes, slowest ${slowestMs.toFixed(1)} ms, seed ${FUZZ_SEED}\n`);
  expect(cases).toBe(runs);
  return { cases, accepted, refused, slowestMs };
}

type Path = readonly (string | number)[];

/** Every path to a value inside `doc` (the root included). */
function paths(doc: unknown, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(doc)) doc.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (doc !== null && typeof doc === 'object') for (const [k, x] of Object.entries(doc)) out.push(...paths(x, [...at, k]));
  return out;
}

function valueAt(doc: unknown, path: Path): unknown {
  return path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined), doc);
}

/** Values of the same kind as `v`, with its edge cases: what a careless or hostile writer would put there. */
function sameKind(v: unknown): fc.Arbitrary<unknown> {
  if (typeof v === 'number') {
    return fc.oneof(fc.integer({ min: -5, max: 3000 }), fc.double(), fc.constantFrom(0, -1, 0.5, 1e308, -0, Number.MAX_SAFE_INTEGER, 2 ** 32));
  }
  if (typeof v === 'string') return fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('', ' ', 'a.b', '*', '>', 'x'.repeat(300)));
  if (typeof v === 'boolean') return fc.boolean();
  if (Array.isArray(v)) return fc.array(v.length ? sameKind(v[0]) : fc.jsonValue({ maxDepth: 1 }), { maxLength: 6 });
  return fc.jsonValue({ maxDepth: 2 });
}

type Edit = { kind: 'set'; path: Path; value: unknown } | { kind: 'drop'; path: Path } | { kind: 'add'; path: Path; key: string; value: unknown };

/**
 * Documents near `valid`: up to three edits at random places (a value of the same kind with its edge cases,
 * arbitrary JSON, a dropped key, an unknown key). Most inputs are then almost right, which is where parsers break.
 */
export function nearly(valid: unknown): fc.Arbitrary<unknown> {
  const all = paths(valid);
  const edit: fc.Arbitrary<Edit> = fc.constantFrom(...all).chain((path) => {
    const here = valueAt(valid, path);
    const options: fc.Arbitrary<Edit>[] = [
      sameKind(here).map((value) => ({ kind: 'set' as const, path, value })),
      fc.jsonValue({ maxDepth: 2 }).map((value) => ({ kind: 'set' as const, path, value })),
    ];
    if (path.length > 0) options.push(fc.constant({ kind: 'drop' as const, path }));
    if (here !== null && typeof here === 'object' && !Array.isArray(here)) {
      options.push(fc.tuple(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })).map(([key, value]) => ({ kind: 'add' as const, path, key, value })));
    }
    return fc.oneof(...options);
  });
  return fc.array(edit, { maxLength: 3 }).map((edits) => {
    let doc = structuredClone(valid);
    for (const e of edits) {
      const parentPath = e.kind === 'add' ? e.path : e.path.slice(0, -1);
      const parent = parentPath.length === 0 && e.kind !== 'add' ? null : valueAt(doc, parentPath);
      if (e.kind === 'set' && e.path.length === 0) {
        doc = e.value;
        continue;
      }
      if (parent === null || typeof parent !== 'object') continue; // an earlier edit replaced the container
      const p = parent as Record<string | number, unknown>;
      const key = e.path[e.path.length - 1] as string | number;
      if (e.kind === 'set') p[key] = e.value;
      else if (e.kind === 'drop') {
        if (Array.isArray(p)) p.splice(Number(key), 1);
        else delete p[key];
      }
      else p[e.key] = e.value;
    }
    return doc;
  });
}
