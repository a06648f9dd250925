import type { Job } from './job.js';
import type { JobSpec } from './job-spec.js';

/**
 * Budget a job is granted at submission, by kind of work, in cost units: its planned work for every prompt. The
 * denoise share is the planned cost less the reward calls: prompts may price a step differently (their guidance),
 * and the accounting decides which steps are charged.
 */
export function grantedBudget(spec: JobSpec): { denoise: number; reward: number } {
  const planned = spec.planned;
  const rewardCalls = Object.values(planned.reward_calls).reduce((a, b) => a + b, 0);
  const reward = rewardCalls * spec.cost.verify;
  return { denoise: planned.cost - reward, reward };
}

/**
 * The per-job alert signals as two numbers with no job label (bounded series): the highest spent/granted ratio
 * among jobs running or ended within `recentMs` (so an overrun that ends between scrapes still shows), and the
 * longest time a running job has gone without a score. One progressing job cannot hide a stuck one, and twenty
 * on-budget jobs cannot dilute one that spends double.
 */
export function worstJobs(jobs: Iterable<Job>, now: number, recentMs: number): { budgetRatio: number; idleSeconds: number } {
  let budgetRatio = 0;
  let idleSeconds = 0;
  for (const job of jobs) {
    if (job.state === 'queued') continue;
    if (job.state === 'running') idleSeconds = Math.max(idleSeconds, (now - (job.lastScoreAt || job.startedAt)) / 1000);
    else if (now - job.endedAt > recentMs) continue;
    const g = grantedBudget(job.spec);
    const granted = g.denoise + g.reward;
    if (granted > 0) budgetRatio = Math.max(budgetRatio, job.spent() / granted);
  }
  return { budgetRatio, idleSeconds };
}
