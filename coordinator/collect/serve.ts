import * as grpc from '@grpc/grpc-js';
import { collectSourceToProto, tweedieChunkToProto } from '../../core/contract/collect.js';
import type { CollectedPrompt } from '../../core/generated/ttsnap/v1/CollectedPrompt.js';
import type { CollectRequest__Output } from '../../core/generated/ttsnap/v1/CollectRequest.js';
import type { CoordinatorHandlers } from '../../core/generated/ttsnap/v1/Coordinator.js';
import { toServiceError, unary } from '../../core/grpc/status.js';
import type { MetricsSink } from '../../core/metrics/sink.js';
import { callerOf } from '../../core/security/authorizer.js';
import type { CallerQuota } from '../../core/security/quota.js';
import type { Coordinator } from '../coordinator.js';

/**
 * The Collect and CollectSource handlers. A collection holds one of the caller's job slots while it runs, and
 * stops sending work when the client goes away (its --out folder keeps what arrived; a rerun asks for the rest).
 */
export function collectHandlers(coord: Coordinator, metrics: MetricsSink, jobs: CallerQuota): Pick<CoordinatorHandlers, 'Collect' | 'CollectSource'> {
  return {
    CollectSource: unary('CollectSource', metrics, 'grpcErrors', async () => {
      const s = await coord.collectSource();
      return collectSourceToProto(s, s.info);
    }),
    Collect: (call: grpc.ServerWritableStream<CollectRequest__Output, CollectedPrompt>) => {
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort(new Error('the client went away')));
      let release = (): void => {};
      Promise.resolve()
        .then(() => {
          release = jobs.acquire(callerOf(call.metadata).name);
          return coord.collect(
            call.request,
            {
              done: (position, values) => call.write({ position, values: Array.from(values) }),
              // a slow client holds the workers' streams back instead of piling images up here
              tweedie: (position, chunk) => (call.write({ position, tweedie: tweedieChunkToProto(chunk) }) ? undefined : drained(call, abort.signal)),
            },
            abort.signal,
          );
        })
        .then(
          () => call.end(),
          (err: unknown) => {
            const se = toServiceError(err);
            metrics.inc('grpcErrors', { method: 'Collect', code: grpc.status[se.code ?? grpc.status.UNKNOWN] ?? 'UNKNOWN' });
            if (!abort.signal.aborted) call.emit('error', se);
          },
        )
        .finally(() => release());
    },
  };
}

/** Resolves when the stream to the client has drained, or fails when the client has gone. */
function drained(call: grpc.ServerWritableStream<CollectRequest__Output, CollectedPrompt>, gone: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const stop = (): void => reject(gone.reason as Error);
    if (gone.aborted) return stop();
    gone.addEventListener('abort', stop, { once: true });
    call.once('drain', () => {
      gone.removeEventListener('abort', stop);
      resolve();
    });
  });
}
