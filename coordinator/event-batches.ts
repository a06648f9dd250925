import type { JobEvent } from '../core/generated/ttsnap/v1/JobEvent.js';
import type { Winner } from '../core/generated/ttsnap/v1/Winner.js';

/**
 * Bytes a message of WatchJobBatches may reach, by eventBytesBound: an eighth of the coordinator's message cap
 * (8 MiB), so that a bound that misses by a few times still leaves the message under it.
 */
export const MAX_BATCH_BYTES = 1024 * 1024;

const imageBytes = (w: Winner | null | undefined): number => (w?.image ? (w.image as Uint8Array).byteLength : 0);

/**
 * An upper bound of an event's size on the wire, cheap to compute: a fixed part (fields, the ledger's stages, the
 * rewards of a few winners) and what grows with the job: ids (at most 5 bytes each as varints), the prompt's text (a
 * UTF-16 unit is at most 3 bytes of UTF-8) and rendered images; the done event counts as a whole message.
 */
export function eventBytesBound(e: JobEvent): number {
  // the done event's summary holds the request as compiled, whose size this does not look into: it goes alone
  if (e.done) return MAX_BATCH_BYTES;
  let n = 1024;
  if (e.pruned) n += 5 * ((e.pruned.kept?.length ?? 0) + (e.pruned.pruned?.length ?? 0));
  const r = e.prompt_done;
  if (r) {
    n += 5 * (r.explored?.length ?? 0) + 3 * (r.text?.length ?? 0) + imageBytes(r.winner);
    for (const w of r.top_k ?? []) n += 256 + imageBytes(w);
  }
  return n;
}

/**
 * Events in order, cut into WatchJobBatches messages of at most `maxBytes` by eventBytesBound (an event larger
 * than that goes alone, as WatchJob would send it).
 */
export function eventBatches(events: readonly JobEvent[], maxBytes = MAX_BATCH_BYTES): JobEvent[][] {
  const out: JobEvent[][] = [];
  let batch: JobEvent[] = [];
  let bytes = 0;
  for (const e of events) {
    const b = eventBytesBound(e);
    if (batch.length > 0 && bytes + b > maxBytes) {
      out.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(e);
    bytes += b;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}
