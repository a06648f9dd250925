import { ValidationError } from '../errors.js';

/**
 * What one unit of work costs. Units are the user's (TFLOPs by default): the budget is in the same unit.
 * `verify` is the cost of one reward-model call; a score with R reward models costs R calls.
 */
export interface CostModel {
  /** cost of one denoise step of one candidate */
  readonly denoise: number;
  /** cost of one reward-model call on one candidate */
  readonly verify: number;
  /** sampling steps S; step indices run 0..S-1, S-1 is the clean image */
  readonly steps: number;
}

/** The paper's FLUX/SDXL figures (TFLOPs per step / per reward call, 20 steps). */
export const PAPER_COST: CostModel = { denoise: 9.9, verify: 1.2, steps: 20 };

export function compileCostModel(input: Partial<CostModel>, field = 'cost'): CostModel {
  const denoise = input.denoise ?? PAPER_COST.denoise;
  const verify = input.verify ?? PAPER_COST.verify;
  const steps = input.steps ?? PAPER_COST.steps;
  if (!(Number.isFinite(denoise) && denoise > 0)) throw new ValidationError(`${field}.denoise`, `got ${denoise}`, 'a finite number > 0');
  if (!(Number.isFinite(verify) && verify >= 0)) throw new ValidationError(`${field}.verify`, `got ${verify}`, 'a finite number >= 0');
  if (!(Number.isInteger(steps) && steps >= 2 && steps <= 10_000)) throw new ValidationError(`${field}.steps`, `got ${steps}`, 'an integer in [2, 10000]');
  return { denoise, verify, steps };
}

/** Parses `denoise=9.9,verify=1.2[,steps=20]`. */
export function parseCostSpec(spec: string, field = '--cost', base: Partial<CostModel> = {}): CostModel {
  const out: { -readonly [K in keyof CostModel]?: number } = { ...base };
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [key, value, extra] = part.split('=');
    if (key === undefined || value === undefined || extra !== undefined || !['denoise', 'verify', 'steps'].includes(key)) {
      throw new ValidationError(field, `cannot read '${part}'`, 'denoise=X,verify=Y[,steps=S]');
    }
    const v = Number(value);
    if (value.trim() === '' || !Number.isFinite(v)) throw new ValidationError(field, `${key} is '${value}'`, 'a number');
    out[key as keyof CostModel] = v;
  }
  return compileCostModel(out, field);
}
