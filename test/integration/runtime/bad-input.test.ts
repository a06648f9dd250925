import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { ValidationError } from '../../../core/errors.js';
import type { SubmitJobRequest } from '../../../core/generated/ttsnap/v1/SubmitJobRequest.js';
import { CoordinatorGrpcClient } from '../../../coordinator/client.js';
import { resultJson } from '../../../coordinator/result.js';
import { engineAlone } from './engine-alone.js';
import { TestCluster } from './cluster.js';
import { enginePicks, engineTotal, picks, type SearchDoc } from './search-cli.js';

const GOOD: SubmitJobRequest = { prompts: [0, 1, 2, 3, 4, 5], candidates: 40, schedule: [...PAPER_SCHEDULE], seed: 3 };

/** Each bad request and the field its INVALID_ARGUMENT must name. */
const BAD: [string, SubmitJobRequest, string][] = [
  ['empty prompts', { ...GOOD, prompts: [] }, 'prompts'],
  ['unknown prompt index', { ...GOOD, prompts: [0, 100] }, 'prompts[1]'],
  ['alpha out of range', { ...GOOD, schedule: [{ step: 2, alpha: 0.4 }, { step: 6, alpha: 1.5 }] }, 'schedule[1].alpha'],
  ['prune step past the end', { ...GOOD, schedule: [{ step: 19, alpha: 0.5 }] }, 'schedule[0].step'],
  ['budget below one candidate', { ...GOOD, candidates: 0, budget: 1 }, 'budget'],
  ['absurd N', { ...GOOD, candidates: 1_000_000 }, 'candidates'],
  ['oversized prompt list', { ...GOOD, prompts: Array.from({ length: 100_001 }, (_, i) => i % 100) }, 'prompts'],
  ['oversized label', { ...GOOD, label: 'x'.repeat(5000) }, 'label'],
  ['unknown policy', { ...GOOD, policy: 'greedy' }, 'policy'],
  ['unknown reward', { ...GOOD, rewards: ['hps'] }, 'rewards[0]'],
];

describe('bad input over gRPC', () => {
  const cluster = new TestCluster();
  let client: CoordinatorGrpcClient;
  beforeAll(async () => {
    await cluster.startAll(['w1', 'w2'], 5, 4);
    client = new CoordinatorGrpcClient(cluster.coordinatorAddr);
  });
  afterAll(async () => {
    client?.close();
    await cluster.close();
  });

  it('answers INVALID_ARGUMENT naming the field, while a running job is undisturbed', async () => {
    const { job } = await client.submit(GOOD);
    const finished = client.watch(job, () => {});
    for (const [what, req, field] of BAD) {
      const err = await client.submit(req, 0).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, what).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field, what).toBe(field);
      expect(((err as Error).cause as grpc.ServiceError).code, what).toBe(grpc.status.INVALID_ARGUMENT);
    }
    // the bad requests came and went while the good job ran
    expect((await client.list()).map((j) => [j.job, j.state])).toEqual([[job, 'running']]);
    const notFound = await client.result('nope').catch((e: unknown) => e as Error);
    expect(((notFound as Error).cause as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
    const noJob = await client.cancel('').catch((e: unknown) => e as Error);
    expect(noJob).toMatchObject({ field: 'job' });

    expect((await finished).done?.state).toBe('done');
    const doc = resultJson(await client.result(job), 0) as unknown as SearchDoc;
    const expected = engineAlone(GOOD.prompts as number[], 40, PAPER_SCHEDULE, 3);
    expect(picks(doc)).toEqual(enginePicks(expected));
    expect(doc.ledger).toEqual(engineTotal(expected));
    const jobs = await client.list();
    expect(jobs.map((j) => [j.job, j.state])).toEqual([[job, 'done']]);
  });
});
