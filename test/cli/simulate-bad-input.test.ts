import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatNpy } from '../../core/trace/npy.js';
import { runCli } from '../support/procs.js';

/** Every kind of bad input: exit code 2 and exactly one line on stderr, no stack unless --verbose. */
let dir = '';
const file = (name: string): string => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ttsnap-bad-'));
  const trace = (shape: number[]): Buffer => formatNpy({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (i % 7) / 7) });
  writeFileSync(file('ok_base.npy'), trace([3, 70, 20]));
  writeFileSync(file('other_narf.npy'), trace([3, 60, 20]));
  writeFileSync(file('rank2.npy'), trace([3, 70]));
  writeFileSync(file('magic.npy'), Buffer.from('PK\x03\x04 this is a zip file'));
  const f8 = formatNpy({ shape: [1, 1, 2], data: new Float32Array(2) }).toString('latin1').replace("'<f4'", "'<f8'");
  writeFileSync(file('float64.npy'), Buffer.from(f8, 'latin1'));
  const nan = formatNpy({ shape: [1, 2, 2], data: Float32Array.from([0, 1, Number.NaN, 2]) });
  writeFileSync(file('nan.npy'), nan);
  mkdirSync(file('empty'));
  writeFileSync(file('sched.json'), JSON.stringify({ format: 'ttsnap-schedule/1', steps: 20, schedule: [{ step: 25, alpha: 0.4 }] }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = (): string[] => ['simulate', '--base', file('ok_base.npy'), '--draws', '1', '--budgets', '400:800:200'];

const cases: [string, () => string[], RegExp][] = [
  ['a missing .npy', () => ['simulate', '--base', file('none.npy')], /^ttsnap: .*none\.npy: cannot read \(ENOENT\); expected a readable \.npy file$/],
  ['bad magic', () => ['simulate', '--base', file('magic.npy')], /magic\.npy: not a \.npy file \(bad magic\)/],
  ['a float64 .npy', () => ['simulate', '--base', file('float64.npy')], /float64\.npy: dtype '<f8' is not supported; expected little-endian float32 '<f4'/],
  ['a rank-2 .npy', () => ['simulate', '--base', file('rank2.npy')], /rank2\.npy: has rank 2; expected \[prompts, candidates, steps\]/],
  ['NaN rewards', () => ['simulate', '--base', file('nan.npy')], /nan\.npy: holds NaN at \[0, 1, 0\]; expected finite rewards/],
  ['base/narf shape mismatch', () => [...base(), '--narf', file('other_narf.npy')], /other_narf\.npy: shape \(3, 60, 20\) does not match the base trace's \(3, 70, 20\)/],
  ['unsorted steps', () => [...base(), '--schedule', '6:0.4,2:0.4'], /--schedule\[1\]\.step: 2 does not follow 6; allowed: strictly increasing steps/],
  ['a step out of range', () => [...base(), '--schedule', '2:0.4,19:0.5'], /--schedule\[1\]\.step: got 19; allowed: an integer in \[0, 18\]/],
  ['a schedule file step out of range', () => [...base(), '--schedule-file', file('sched.json')], /sched\.json: schedule\[0\]\.step: got 25; allowed: an integer in \[0, 18\]/],
  ['alpha 0', () => [...base(), '--schedule', '2:0'], /--schedule\[0\]\.alpha: got 0; allowed: a number in \(0, 1\]/],
  ['alpha above 1', () => [...base(), '--schedule', '2:1.2'], /--schedule\[0\]\.alpha: got 1\.2; allowed: a number in \(0, 1\]/],
  ['a budget below one candidate', () => [...base(), '--budgets', '100:800:100'], /--budgets: budget 100 is below the cost of one candidate; allowed: >= 199\.2/],
  ['a budget beyond the trace', () => [...base(), '--budgets', '400:6000:200'], /--budgets: budget 4400 buys 71 candidates per prompt under ttsnap, but ok holds 70; allowed: budgets that buy at most 70 candidates/],
  ['inverted budgets', () => [...base(), '--budgets', '800:400:200'], /--budgets: 800:400:200 is empty, inverted or not positive; allowed: 0 < start <= end, step > 0/],
  ['inverted prompts', () => [...base(), '--prompts', '3:1'], /--prompts: 3:1 is empty or inverted; allowed: start:end with start < end/],
  ['prompts beyond the trace', () => [...base(), '--prompts', '0:5'], /--prompts: 0:5 does not fit ok; allowed: start:end with 0 <= start < end <= 3/],
  ['a bad accounting', () => [...base(), '--accounting', 'cheap'], /--accounting: got 'cheap'; allowed: exact \| paper/],
  ['a bad cost', () => [...base(), '--cost', 'denoise=-1'], /--cost\.denoise: got -1; allowed: a finite number > 0/],
  ['zero draws', () => [...base(), '--draws', '0'], /--draws: got '0'; allowed: an integer in \[1, 100000\]/],
  ['an unknown flag', () => [...base(), '--budget', '400:800:200'], /^ttsnap simulate: unknown option '--budget'.*; allowed: --base, --narf, --trace-dir/],
  ['no trace source', () => ['simulate'], /traces: none given; allowed: exactly one of --base FILE \[--narf FILE\], --trace-dir DIR, --synthetic \[SEED\]/],
  ['two trace sources', () => [...base(), '--synthetic'], /--base and --synthetic: given together; allowed: exactly one of/],
  ['--narf alone', () => ['simulate', '--trace-dir', dir, '--narf', file('other_narf.npy')], /--narf: given without --base/],
  ['a missing trace folder', () => ['simulate', '--trace-dir', join(dir, 'no-such-dir')], /no-such-dir: cannot read the folder \(ENOENT\)/],
  ['a folder without traces', () => ['simulate', '--trace-dir', file('empty')], /--trace-dir: .*empty holds no <name>_base\.npy file/],
];

describe('simulate rejects bad input with exit code 2 and one line', () => {
  // concurrent: each case is a process start, most of the cost
  it.concurrent.each(cases)('%s', async (_what, args, line) => {
    const r = await runCli(args());
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
  });

  it('prints the stack with --verbose', async () => {
    const r = await runCli([...base(), '--schedule', '2:0', '--verbose']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ttsnap: --schedule\[0\]\.alpha: got 0/);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});
