/**
 * The grid on which the coordinator's lingering timers fire (watch events, lingering releases, the journal's
 * writer): they then share a wake-up instead of taking one each.
 */
export const LINGER_GRID_MS = 50;

/**
 * The delay, at least `minMs`, to the next multiple of `gridMs` of the wall clock: timers that only need to fire
 * "after a while" (lingers, heartbeats) fire together. In one process they are processed in one turn of the
 * event loop; across processes (64 workers answering, heartbeating or publishing scores to one coordinator)
 * their messages arrive together, and the coordinator wakes once for a burst instead of once for each. A
 * wake-up (scheduling, the system calls, cold caches) costs far more than the few bytes each message carries.
 * Returns minMs + [0, gridMs).
 */
export function gridDelay(minMs: number, gridMs: number, now: number = Date.now()): number {
  if (gridMs <= 0) return minMs;
  const at = now + minMs;
  return minMs + ((gridMs - (at % gridMs)) % gridMs);
}
