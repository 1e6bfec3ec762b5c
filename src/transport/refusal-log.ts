/**
 * One log line per interval for a refusal that a flood repeats (connections past a cap):
 * the first refusal of an interval is logged, the ones after it are counted and named in
 * the next line that goes out ("and N more since the last such line"). Counting by reason
 * is the caller's; this only keeps the log from becoming the flood's amplifier.
 */
import { performance } from 'node:perf_hooks';

/** Default: at most one such line per second. */
export const REFUSAL_LOG_INTERVAL_MS = 1000;

export class RefusalLog {
  readonly #log: (line: string) => void;
  readonly #intervalMs: number;
  #loggedAtMs = Number.NEGATIVE_INFINITY;
  #since = 0;

  constructor(log: (line: string) => void, intervalMs = REFUSAL_LOG_INTERVAL_MS) {
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  /** `head`: 'refusing client 1.2.3.4:5'; `why`: the reason, after the count of the ones not logged. */
  refused(head: string, why: string): void {
    const now = performance.now();
    if (now - this.#loggedAtMs < this.#intervalMs) {
      this.#since++;
      return;
    }
    const more = this.#since > 0 ? ` (and ${this.#since} more since the last such line)` : '';
    this.#loggedAtMs = now;
    this.#since = 0;
    this.#log(`${head}${more}: ${why}`);
  }
}
