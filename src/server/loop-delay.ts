/**
 * The calling thread's event-loop delay (perf_hooks.monitorEventLoopDelay) in rolling
 * windows: p99/max of the last complete window (windowMs, default 1 s) and since start.
 *
 * The sampling timer runs every resolutionMs (default 10 ms, Node's and prom-client's
 * default): a stall shows in max whatever its length, one shorter than that only when it
 * overlaps a sample. A 1 ms resolution would wake an idle thread 1,000 times a second.
 * One monitor per thread: the server's client listener owns it.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface LoopDelaySnapshot {
  windowMs: number;
  /** Last complete window (the current one until a window completed). */
  p99Ms: number;
  maxMs: number;
  /** Since the monitor started. */
  p99MsSinceStart: number;
}

export class LoopDelayMonitor {
  readonly windowMs: number;
  readonly #window: IntervalHistogram;
  readonly #total: IntervalHistogram;
  readonly #timer: NodeJS.Timeout;
  #last: { p99Ms: number; maxMs: number } | undefined;
  #closed = false;

  constructor(windowMs = 1000, resolutionMs = 10) {
    this.windowMs = windowMs;
    this.#window = monitorEventLoopDelay({ resolution: resolutionMs });
    this.#total = monitorEventLoopDelay({ resolution: resolutionMs });
    this.#window.enable();
    this.#total.enable();
    this.#timer = setInterval(() => {
      this.#last = { p99Ms: this.#window.percentile(99) / 1e6, maxMs: this.#window.max / 1e6 };
      this.#window.reset();
    }, windowMs);
    this.#timer.unref();
  }

  snapshot(): LoopDelaySnapshot {
    const cur = this.#last ?? { p99Ms: this.#window.percentile(99) / 1e6, maxMs: this.#window.max / 1e6 };
    const round = (x: number): number => (Number.isFinite(x) ? Number(x.toFixed(3)) : 0);
    return { windowMs: this.windowMs, p99Ms: round(cur.p99Ms), maxMs: round(cur.maxMs), p99MsSinceStart: round(this.#total.percentile(99) / 1e6) };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#window.disable();
    this.#total.disable();
  }
}
