/**
 * One interval timer per period per thread, shared by every subscriber: the Ledgers of a
 * thread (a GroupShard's groups, on a worker or the calling thread) wake once per tick and
 * once per background flush, not once each, and their background flushes reach the
 * addon's flusher in one turn, so one group commit covers all of them.
 *
 * Subscribers run in subscription order. One that throws does not stop the others; its
 * error is rethrown from its own macrotask, as a throwing setInterval callback would be.
 */
interface SharedTimer {
  timer: NodeJS.Timeout;
  subscribers: Set<() => void>;
}

const timers = new Map<number, SharedTimer>();

/** Call `fn` every `periodMs` (a positive number) until the returned function is called. Idempotent unsubscribe. */
export function everyMs(periodMs: number, fn: () => void): () => void {
  if (!(typeof periodMs === 'number' && periodMs > 0 && Number.isFinite(periodMs))) {
    throw new RangeError(`everyMs: periodMs must be a positive number, got ${String(periodMs)}`);
  }
  let shared = timers.get(periodMs);
  if (shared === undefined) {
    const subscribers = new Set<() => void>();
    const timer = setInterval(() => {
      for (const f of [...subscribers]) {
        if (!subscribers.has(f)) continue; // unsubscribed by an earlier subscriber in this round
        try {
          f();
        } catch (error) {
          setImmediate(() => {
            throw error;
          });
        }
      }
    }, periodMs);
    shared = { timer, subscribers };
    timers.set(periodMs, shared);
  }
  const entry = shared;
  const subscriber = (): void => fn();
  entry.subscribers.add(subscriber);
  return () => {
    if (!entry.subscribers.delete(subscriber)) return;
    if (entry.subscribers.size === 0 && timers.get(periodMs) === entry) {
      clearInterval(entry.timer);
      timers.delete(periodMs);
    }
  };
}

/** Shared timers alive in this thread (tests). */
export function sharedTimerCount(): number {
  return timers.size;
}
