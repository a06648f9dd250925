import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { BadFileError, ValidationError } from '../errors.js';
import { compileSchedule, type Schedule } from './schedule.js';

/**
 * The schedule file that `tune --out` writes and `simulate --schedule-file` / `search --schedule-file` read.
 * `schedule` is what the engine runs; `per_budget` optionally gives a schedule per budget (a budget without
 * its own entry uses `schedule`); `tuned` records how it was found (free-form, for people).
 */
const pointSchema = z.object({ step: z.number().int(), alpha: z.number() });
const fileSchema = z.object({
  format: z.literal('ttsnap-schedule/1'),
  steps: z.number().int().min(2),
  schedule: z.array(pointSchema),
  per_budget: z.array(z.object({ budget: z.number().positive(), schedule: z.array(pointSchema) })).optional(),
  tuned: z.record(z.string(), z.unknown()).optional(),
});
export type ScheduleFileJson = z.infer<typeof fileSchema>;

export interface ScheduleFile {
  readonly steps: number;
  readonly schedule: Schedule;
  /** budget -> schedule, for budgets that have their own */
  readonly perBudget: ReadonlyMap<number, Schedule>;
  readonly tuned?: Record<string, unknown>;
}

export function parseScheduleFile(json: unknown, file: string, steps: number): ScheduleFile {
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BadFileError(file, `not a schedule file: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`);
  }
  const data = parsed.data;
  if (data.steps !== steps) throw new ValidationError('--schedule-file', `${file} was made for ${data.steps} steps`, `a schedule for ${steps} steps`);
  const perBudget = new Map<number, Schedule>();
  for (const [i, entry] of (data.per_budget ?? []).entries()) {
    perBudget.set(entry.budget, compileSchedule(entry.schedule, steps, `${file}: per_budget[${i}].schedule`));
  }
  return { steps, schedule: compileSchedule(data.schedule, steps, `${file}: schedule`), perBudget, ...(data.tuned ? { tuned: data.tuned } : {}) };
}

/**
 * Reads and checks a schedule file. `steps` is the sampler's step count when the caller knows it (the
 * simulator's trace); null takes the file's own `steps` (a search whose coordinator checks them later).
 */
export function readScheduleFile(file: string, steps: number | null): ScheduleFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BadFileError(file, `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new BadFileError(file, 'is not JSON', { cause: err });
  }
  const fileSteps = json !== null && typeof json === 'object' && 'steps' in json && typeof json.steps === 'number' ? json.steps : 0;
  return parseScheduleFile(json, file, steps ?? fileSteps);
}

/** The schedule to run at a budget: its own entry if the file has one, else the default. */
export function scheduleForBudget(file: ScheduleFile, budget: number): Schedule {
  return file.perBudget.get(budget) ?? file.schedule;
}

export function writeScheduleFile(file: string, content: ScheduleFileJson): void {
  writeFileSync(file, `${JSON.stringify(fileSchema.parse(content), null, 2)}\n`);
}
