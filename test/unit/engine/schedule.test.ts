import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSchedule, formatSchedule, parseScheduleSpec, PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { readScheduleFile, scheduleForBudget } from '../../../core/engine/schedule-file.js';

describe('parseScheduleSpec', () => {
  it('reads the paper default', () => {
    expect(parseScheduleSpec('2:0.4,6:0.4,11:0.5', 20)).toEqual(PAPER_SCHEDULE);
    expect(formatSchedule(PAPER_SCHEDULE)).toBe('2:0.4,6:0.4,11:0.5');
    expect(parseScheduleSpec('', 20)).toEqual([]);
  });
  it('rejects unsorted, out-of-range and bad-alpha points, naming the point', () => {
    expect(() => parseScheduleSpec('6:0.4,2:0.4', 20)).toThrow('--schedule[1].step: 2 does not follow 6; allowed: strictly increasing steps');
    expect(() => parseScheduleSpec('19:0.4', 20)).toThrow('--schedule[0].step: got 19; allowed: an integer in [0, 18]');
    expect(() => parseScheduleSpec('-1:0.4', 20)).toThrow('--schedule[0].step: got -1');
    expect(() => parseScheduleSpec('2:0', 20)).toThrow('--schedule[0].alpha: got 0; allowed: a number in (0, 1]');
    expect(() => parseScheduleSpec('2:1.5', 20)).toThrow('--schedule[0].alpha: got 1.5');
    expect(() => parseScheduleSpec('2-0.4', 20)).toThrow("--schedule: cannot read '2-0.4'");
    expect(compileSchedule([{ step: 18, alpha: 1 }], 20)).toEqual([{ step: 18, alpha: 1 }]);
  });
});

describe('schedule files', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  it('reads per-budget schedules and falls back to the default', () => {
    dir = mkdtempSync(join(tmpdir(), 'ttsnap-sched-'));
    const file = join(dir, 's.json');
    writeFileSync(
      file,
      JSON.stringify({ format: 'ttsnap-schedule/1', steps: 20, schedule: [{ step: 2, alpha: 0.4 }], per_budget: [{ budget: 400, schedule: [] }] }),
    );
    const s = readScheduleFile(file, 20);
    expect(scheduleForBudget(s, 400)).toEqual([]);
    expect(scheduleForBudget(s, 600)).toEqual([{ step: 2, alpha: 0.4 }]);
    expect(() => readScheduleFile(file, 30)).toThrow(`--schedule-file: ${file} was made for 20 steps`);
  });
});
