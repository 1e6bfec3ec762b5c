/**
 * A latency histogram with logarithmic buckets: constant memory however long the run,
 * so a cumulative percentile ("p99 so far") and a CDF are cheap at any moment.
 *
 * Buckets: BUCKETS_PER_DECADE per factor of 10 from MIN_MS to MAX_MS; a value is counted
 * in the bucket whose upper bound is the first at or above it, so a percentile read from
 * the histogram is at most one bucket width (10^(1/BUCKETS_PER_DECADE) - 1, about 4.7 %)
 * above the exact value and never below it. Values under MIN_MS count in the first bucket,
 * values over MAX_MS in the last (its bound reported as the largest value recorded).
 */

export const MIN_MS = 0.001;
export const MAX_MS = 600_000;
export const BUCKETS_PER_DECADE = 50;

const DECADES = Math.log10(MAX_MS / MIN_MS);
const BUCKET_COUNT = Math.ceil(DECADES * BUCKETS_PER_DECADE) + 1;

/** The upper bound (ms) of bucket i. */
function upperBoundMs(i: number): number {
  return MIN_MS * 10 ** (i / BUCKETS_PER_DECADE);
}

export interface HistogramJson {
  /** [upper bound ms, count] of every non-empty bucket, ascending. */
  buckets: [number, number][];
  count: number;
  maxMs: number;
}

export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKET_COUNT);
  #count = 0;
  #maxMs = 0;

  get count(): number {
    return this.#count;
  }

  get maxMs(): number {
    return this.#maxMs;
  }

  record(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`latency must be a non-negative number, got ${String(ms)}`);
    const i = ms <= MIN_MS ? 0 : Math.min(BUCKET_COUNT - 1, Math.ceil(Math.log10(ms / MIN_MS) * BUCKETS_PER_DECADE - 1e-9));
    this.#counts[i]!++;
    this.#count++;
    if (ms > this.#maxMs) this.#maxMs = ms;
  }

  /** The smallest bucket bound at or above p percent of the values (0 when empty). */
  percentile(p: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(upperBoundMs(i), this.#maxMs);
    }
    return this.#maxMs;
  }

  toJSON(): HistogramJson {
    const buckets: [number, number][] = [];
    for (let i = 0; i < BUCKET_COUNT; i++) {
      const n = this.#counts[i]!;
      if (n > 0) buckets.push([Number(Math.min(upperBoundMs(i), this.#maxMs).toPrecision(4)), n]);
    }
    return { buckets, count: this.#count, maxMs: this.#maxMs };
  }
}
