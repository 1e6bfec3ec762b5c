/**
 * Retry pacing: 10 ms doubling to a cap, jittered to [base/2, base]. The cap is 200 ms
 * (BACKOFF_MAX_MS) for a busy or unavailable server, and 50 ms (BACKOFF_LEADERLESS_MAX_MS)
 * while the client looks for a leader (ERR_NOT_LEADER, connection failures, sequence gaps):
 * an election on a default-timed cluster lasts about 200-400 ms, and a 200 ms sleep that
 * began just before the new leader was ready would add up to 200 ms to every failover.
 */
export const BACKOFF_MIN_MS = 10;
export const BACKOFF_MAX_MS = 200;
export const BACKOFF_LEADERLESS_MAX_MS = 50;

export class Backoff {
  #base = BACKOFF_MIN_MS;

  /** The next delay (ms), then double the base up to `capMs` (a base already above it is lowered to it). */
  next(capMs: number = BACKOFF_MAX_MS): number {
    const base = Math.min(this.#base, capMs);
    this.#base = Math.min(capMs, base * 2);
    return base / 2 + Math.random() * (base / 2);
  }

  reset(): void {
    this.#base = BACKOFF_MIN_MS;
  }
}
