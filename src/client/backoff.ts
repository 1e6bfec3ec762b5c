/** Retry pacing: 10 ms doubling to 200 ms, jittered to [base/2, base]. */
export const BACKOFF_MIN_MS = 10;
export const BACKOFF_MAX_MS = 200;

export class Backoff {
  #base = BACKOFF_MIN_MS;

  /** The next delay, then double the base (up to the cap). */
  next(): number {
    const base = this.#base;
    this.#base = Math.min(BACKOFF_MAX_MS, base * 2);
    return base / 2 + Math.random() * (base / 2);
  }

  reset(): void {
    this.#base = BACKOFF_MIN_MS;
  }
}
