import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../cli/errors.js';
import { EXIT, EXIT_CODE_TABLE, exitCodeForJobState } from '../../cli/exit-codes.js';
import { CoordinatorCallError } from '../../coordinator/client.js';
import { BadFileError, ValidationError } from '../../core/errors.js';

const README = new URL('../../README.md', import.meta.url).pathname;

describe('exit codes', () => {
  it('the README lists exactly the table of cli/exit-codes.ts', () => {
    const rows = [...readFileSync(README, 'utf8').matchAll(/^\| (\d) \| (.+) \|$/gm)].map((m) => [Number(m[1]), m[2]]);
    expect(rows).toEqual(EXIT_CODE_TABLE.map(([code, meaning]) => [code, meaning]));
    expect(EXIT_CODE_TABLE.map(([code]) => code)).toEqual([0, 1, 2, 3, 4, 5]);
  });
  it('maps job states', () => {
    expect(exitCodeForJobState('done')).toBe(0);
    expect(exitCodeForJobState('failed')).toBe(1);
    expect(exitCodeForJobState('cancelled')).toBe(3);
  });
  it('maps errors: bad input 2, unreachable 4, TLS or authorisation 5, anything else 1', () => {
    expect(exitCodeFor(new ValidationError('--budget', 'got -1', '> 0'))).toBe(EXIT.badInput);
    expect(exitCodeFor(new BadFileError('x.npy', 'corrupt'))).toBe(EXIT.badInput);
    expect(exitCodeFor(new CoordinatorCallError(14, 'No connection established'))).toBe(EXIT.unreachable);
    expect(exitCodeFor(new CoordinatorCallError(4, 'Deadline exceeded'))).toBe(EXIT.unreachable);
    expect(exitCodeFor(new CoordinatorCallError(16, 'bad token'))).toBe(EXIT.refused);
    expect(exitCodeFor(new CoordinatorCallError(7, 'not allowed'))).toBe(EXIT.refused);
    expect(exitCodeFor(new CoordinatorCallError(14, 'Connection dropped: SSL routines: certificate verify failed'))).toBe(EXIT.refused);
    expect(exitCodeFor(new CoordinatorCallError(5, "no job 'j1'"))).toBe(EXIT.failed);
    expect(exitCodeFor(new Error('boom'))).toBe(EXIT.failed);
  });
});
