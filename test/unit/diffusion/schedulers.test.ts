import { describe, expect, it } from 'vitest';
import { alphasCumprod } from '../../../core/diffusion/betas.js';
import { ddimScheduler, type DdpmConfig } from '../../../core/diffusion/ddim.js';
import { eulerScheduler } from '../../../core/diffusion/euler.js';
import { flowEulerScheduler } from '../../../core/diffusion/flow-match.js';
import { schedulerFromConfig } from '../../../core/diffusion/from-config.js';
import { applyStep } from '../../../core/diffusion/scheduler.js';

const SD: DdpmConfig = {
  trainSteps: 1000,
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedule: 'scaled_linear',
  prediction: 'epsilon',
  spacing: 'leading',
  stepsOffset: 1,
  setAlphaToOne: false,
  clipSample: false,
  clipRange: 1,
};
const abar = alphasCumprod('scaled_linear', 0.00085, 0.012, 1000);
const A = (t: number): number => abar[t] as number;

function step(s: ReturnType<typeof ddimScheduler>, i: number, x: number[], out: number[]): { next: number[]; x0: number[] } {
  const next = new Float32Array(x.length);
  const x0 = new Float32Array(x.length);
  applyStep(s.coefficients(i), Float32Array.from(x), Float32Array.from(out), next, x0);
  return { next: Array.from(next), x0: Array.from(x0) };
}

describe('DDIM (eta 0)', () => {
  it('epsilon: x0 = (x - sqrt(1-a_t) eps)/sqrt(a_t), x_prev = sqrt(a_prev) x0 + sqrt(1-a_prev) eps', () => {
    const s = ddimScheduler(SD, 20);
    expect(s.timesteps[0]).toBe(951);
    const { next, x0 } = step(s, 0, [1.5], [0.25]);
    const x0e = (1.5 - Math.sqrt(1 - A(951)) * 0.25) / Math.sqrt(A(951));
    expect(x0[0]).toBeCloseTo(x0e, 5);
    expect(next[0]).toBeCloseTo(Math.sqrt(A(901)) * x0e + Math.sqrt(1 - A(901)) * 0.25, 5);
  });
  it('the last step uses alphas_cumprod[0] unless set_alpha_to_one', () => {
    const last = step(ddimScheduler(SD, 20), 19, [0.5], [0.1]);
    const x0e = (0.5 - Math.sqrt(1 - A(1)) * 0.1) / Math.sqrt(A(1));
    expect(last.next[0]).toBeCloseTo(Math.sqrt(A(0)) * x0e + Math.sqrt(1 - A(0)) * 0.1, 6);
    const one = step(ddimScheduler({ ...SD, setAlphaToOne: true }, 20), 19, [0.5], [0.1]);
    expect(one.next[0]).toBeCloseTo(x0e, 6);
  });
  it('v prediction: x0 = sqrt(a) x - sqrt(1-a) v, eps = sqrt(a) v + sqrt(1-a) x', () => {
    const s = ddimScheduler({ ...SD, prediction: 'v_prediction', spacing: 'trailing' }, 10);
    expect(s.timesteps[0]).toBe(999);
    const { next, x0 } = step(s, 0, [2], [-0.5]);
    const a = A(999);
    const x0e = Math.sqrt(a) * 2 + Math.sqrt(1 - a) * 0.5;
    const eps = Math.sqrt(a) * -0.5 + Math.sqrt(1 - a) * 2;
    expect(x0[0]).toBeCloseTo(x0e, 5);
    // prev_t = 999 - 1000 // 10 = 899
    expect(next[0]).toBeCloseTo(Math.sqrt(A(899)) * x0e + Math.sqrt(1 - A(899)) * eps, 5);
  });
  it('clip_sample clips x0 before the update', () => {
    const s = ddimScheduler({ ...SD, clipSample: true, clipRange: 1 }, 20);
    const { next, x0 } = step(s, 0, [10], [0]);
    expect(x0[0]).toBe(1);
    expect(next[0]).toBeCloseTo(Math.sqrt(A(901)), 6);
  });
});

describe('Euler discrete', () => {
  it('sigmas interpolate sqrt((1-a)/a); init_noise_sigma and input scale as diffusers', () => {
    const s = eulerScheduler({ ...SD, spacing: 'linspace' }, 4);
    expect(Array.from(s.timesteps)).toEqual([999, 666, 333, 0]);
    // linspace spacing: init_noise_sigma = sigma_max = sigma(999) (SD 1.5: 14.6146)
    expect(s.initNoiseSigma).toBeCloseTo(14.614641229333639, 9);
    expect(s.inputScale(0)).toBeCloseTo(1 / Math.sqrt(14.614641229333639 ** 2 + 1), 12);
    const lead = eulerScheduler(SD, 20);
    const sig951 = Math.sqrt((1 - A(951)) / A(951));
    expect(lead.initNoiseSigma).toBeCloseTo(Math.sqrt(sig951 ** 2 + 1), 9);
  });
  it('epsilon step: x0 = x - sigma eps, x_next = x + (x - x0)/sigma * (sigma_next - sigma); last step lands on x0', () => {
    const s = eulerScheduler({ ...SD, spacing: 'linspace' }, 4);
    const sig = [14.61464123, 2.91830712, 0.93235797, 0.02916716];
    const { next, x0 } = step(s, 1, [3], [0.5]);
    expect(x0[0]).toBeCloseTo(3 - sig[1]! * 0.5, 5);
    expect(next[0]).toBeCloseTo(3 + 0.5 * (sig[2]! - sig[1]!), 5);
    const last = step(s, 3, [0.2], [0.3]);
    expect(last.next[0]).toBeCloseTo(last.x0[0]!, 6);
  });
  it('v prediction: x0 = -sigma/sqrt(sigma^2+1) v + x/(sigma^2+1)', () => {
    const s = eulerScheduler({ ...SD, spacing: 'linspace', prediction: 'v_prediction' }, 4);
    const sg = 2.91830712;
    const { x0 } = step(s, 1, [3], [0.5]);
    expect(x0[0]).toBeCloseTo((-sg / Math.sqrt(sg * sg + 1)) * 0.5 + 3 / (sg * sg + 1), 5);
  });
});

describe('Euler ancestral', () => {
  const TURBO: DdpmConfig = { ...SD, spacing: 'trailing' };
  it('steps down to sigma_down and adds sigma_up z, with sigma_up^2 + sigma_down^2 = sigma_next^2; the last step adds none', () => {
    const e = eulerScheduler(TURBO, 4);
    const a = eulerScheduler(TURBO, 4, true);
    expect([a.kind, a.stochastic, e.stochastic]).toEqual(['euler_ancestral', true, false]);
    expect(Array.from(a.timesteps)).toEqual(Array.from(e.timesteps));
    expect(a.initNoiseSigma).toBe(e.initNoiseSigma);
    const sigma = (i: number): number => 1 / a.inputScale(i) ** 2 - 1; // sigma^2
    const s0 = Math.sqrt(sigma(0));
    const s1 = Math.sqrt(sigma(1));
    const up = Math.sqrt((s1 * s1 * (s0 * s0 - s1 * s1)) / (s0 * s0));
    const down = Math.sqrt(s1 * s1 - up * up);
    expect(a.coefficients(0).noise).toBeCloseTo(up, 12);
    const next = new Float32Array(1);
    const x0 = new Float32Array(1);
    applyStep(a.coefficients(0), Float32Array.of(2), Float32Array.of(0.5), next, x0, Float32Array.of(0.3));
    expect(x0[0]).toBeCloseTo(2 - s0 * 0.5, 5);
    expect(next[0]).toBeCloseTo(2 + ((2 - (x0[0] as number)) / s0) * (down - s0) + 0.3 * up, 5);
    expect(a.coefficients(3).noise).toBeUndefined();
  });
  it('an ancestral step without its noise is an error, not a silent deterministic step', () => {
    const a = eulerScheduler(TURBO, 4, true);
    expect(() => applyStep(a.coefficients(0), Float32Array.of(1), Float32Array.of(1), new Float32Array(1), new Float32Array(1))).toThrow(/ancestral step needs 1 noise values/);
  });
  it('EulerAncestralDiscreteScheduler configs run it', () => {
    expect(schedulerFromConfig({ _class_name: 'EulerAncestralDiscreteScheduler', timestep_spacing: 'trailing' }, 4).kind).toBe('euler_ancestral');
  });
});

describe('flow-matching Euler', () => {
  it('shift 3: sigmas shifted at construction and again in set_timesteps, timesteps = sigma * N', () => {
    const s = flowEulerScheduler({ trainSteps: 1000, shift: 3 }, 4);
    // sigma_min = 3(1/1000)/(1 + 2/1000); linspace(1000, 1000 sigma_min, 4)/1000 shifted by 3s/(1+2s)
    const expected = [1, 0.85769231, 0.60215054, 0.00892857];
    expect(Array.from(s.timesteps).map((t) => t / 1000)).toEqual(expected.map((e) => expect.closeTo(e, 7)));
    const { next, x0 } = step(s, 1, [0.4], [2]);
    expect(x0[0]).toBeCloseTo(0.4 - 0.85769231 * 2, 6);
    expect(next[0]).toBeCloseTo(0.4 + (0.60215054 - 0.85769231) * 2, 6);
    const last = step(s, 3, [0.4], [2]);
    expect(last.next[0]).toBeCloseTo(last.x0[0]!, 6);
  });
  it('shift 1 is a plain linspace', () => {
    const s = flowEulerScheduler({ trainSteps: 1000, shift: 1 }, 2);
    expect(Array.from(s.timesteps)).toEqual([1000, expect.closeTo(1, 9)]);
  });
});

describe('scheduler_config.json', () => {
  it('maps diffusers classes to samplers and reads their fields', () => {
    const cfg = { _class_name: 'DDIMScheduler', num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', steps_offset: 1, set_alpha_to_one: false };
    expect(schedulerFromConfig(cfg, 20).timesteps[0]).toBe(951);
    expect(schedulerFromConfig({ ...cfg, _class_name: 'EulerDiscreteScheduler' }, 20).kind).toBe('euler');
    expect(schedulerFromConfig({ _class_name: 'FlowMatchEulerDiscreteScheduler', shift: 3 }, 4).kind).toBe('flow_euler');
  });
  it('names the bad field', () => {
    expect(() => schedulerFromConfig({ _class_name: 'DDIMScheduler', beta_schedule: 'cubic' }, 20, { file: 'scheduler/scheduler_config.json' })).toThrow(
      /scheduler\/scheduler_config.json: beta_schedule/,
    );
    expect(() => schedulerFromConfig({ _class_name: 'DDIMScheduler', timestep_spacing: 'odd' }, 20)).toThrow(/timestep_spacing.*leading \| trailing \| linspace/);
    expect(() => schedulerFromConfig({ _class_name: 'EulerDiscreteScheduler', use_karras_sigmas: true }, 20)).toThrow('scheduler_config.json: use_karras_sigmas: true is not supported; allowed: false (or absent)');
  });
});
