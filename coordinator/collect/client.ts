import * as grpc from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectSourceFromProto, tweedieChunkFromProto, type TweedieChunk, type WorkerCollectSource } from '../../core/contract/collect.js';
import type { CollectedPrompt__Output } from '../../core/generated/ttsnap/v1/CollectedPrompt.js';
import type { CollectRequest } from '../../core/generated/ttsnap/v1/CollectRequest.js';
import type { CollectSourceResponse__Output } from '../../core/generated/ttsnap/v1/CollectSourceResponse.js';
import { CoordinatorCallError, translate, type CoordinatorGrpcClient } from '../client.js';

/** What the coordinator's workers collect from; while no worker has registered (UNAVAILABLE), asks again for up to `waitMs`. */
export async function collectSourceVia(client: CoordinatorGrpcClient, waitMs = 30_000): Promise<WorkerCollectSource> {
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      const res = await new Promise<CollectSourceResponse__Output>((resolve, reject) =>
        client.stub.CollectSource({}, { deadline: Date.now() + 30_000 }, (err, r) => (err || !r ? reject(err ? translate(err, client.address) : new Error('empty answer')) : resolve(r))),
      );
      const source = collectSourceFromProto(res);
      if (!source) throw new CoordinatorCallError(grpc.status.INTERNAL, 'CollectSource answered without a backend');
      return source;
    } catch (err) {
      if (!(err instanceof CoordinatorCallError && err.code === grpc.status.UNAVAILABLE && Date.now() < until)) throw err;
      await sleep(250);
    }
  }
}

/** What a Collect stream brings: pieces of a prompt's Tweedie images, then its values (position: index in the request). */
export interface CollectReceiver {
  tweedie(position: number, chunk: TweedieChunk): void;
  done(position: number, values: Float32Array): void;
}

/** Streams a collection into `to`; resolves after the last prompt. A message `to` cannot take ends the call with its error. */
export function streamCollect(client: CoordinatorGrpcClient, req: CollectRequest, to: CollectReceiver, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = client.stub.Collect(req);
    const stop = (): void => call.cancel();
    signal.addEventListener('abort', stop, { once: true });
    let settled = false;
    const settle = (err?: Error): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', stop);
      if (err) reject(err);
      else resolve();
    };
    call.on('data', (m: CollectedPrompt__Output) => {
      try {
        if (m.tweedie) to.tweedie(m.position, tweedieChunkFromProto(m.tweedie));
        else to.done(m.position, Float32Array.from(m.values));
      } catch (err) {
        call.cancel();
        settle(err instanceof Error ? err : new Error(String(err)));
      }
    });
    call.on('error', (err: grpc.ServiceError) => settle(signal.aborted ? (signal.reason as Error) : translate(err, client.address)));
    call.on('end', () => settle());
  });
}
