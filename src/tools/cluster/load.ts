/**
 * Closed-loop load against a cluster through the network client: `concurrency` appends
 * kept in flight, each a `sizeBytes` random payload, for a fixed time. Latency is
 * measured at the client from invocation to acknowledgement. Shared by bench and demo.
 */
import { randomFillSync } from 'node:crypto';
import type { Client } from '../../client/index.js';
import { LatencyHistogram } from './latency-histogram.js';

export interface LoadOptions {
  client: Client;
  concurrency: number;
  sizeBytes: number;
  durationMs: number;
  /** Called about every progressEveryMs with running totals. */
  onProgress?: (p: LoadProgress) => void;
  progressEveryMs?: number;
  /** Called with each acknowledged append (index, pos, the payload). */
  onAck?: (ack: { index: number; pos: number }, payload: Buffer, invokedAtMs: number, ackedAtMs: number) => void;
  /** Called with each failed append. */
  onError?: (error: unknown, payload: Buffer, invokedAtMs: number) => void;
  signal?: AbortSignal;
  /** Give each payload a unique prefix (8-byte sequence number) so entries can be told apart. */
  unique?: boolean;
}

export interface LoadProgress {
  ops: number;
  errors: number;
  elapsedMs: number;
  /** ops/s and p99 latency over the last progress interval. */
  recentOpsPerSec: number;
  recentP99Ms: number;
  /** p99 latency of every append acknowledged so far (from the histogram). */
  p99SoFarMs: number;
}

/** One progress interval of a run: what a report charts over time. */
export interface TimelinePoint {
  /** Seconds from the start of the run to the end of this interval. */
  atS: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export interface LoadResult {
  ops: number;
  errors: number;
  seconds: number;
  /** Sorted latencies in ms. */
  latenciesMs: Float64Array;
  /** Every progressEveryMs interval of the run, in order. */
  timeline: TimelinePoint[];
  histogram: LatencyHistogram;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { client, concurrency, sizeBytes, durationMs } = options;
  const pool = Buffer.alloc(Math.max(sizeBytes, 8) * 64);
  randomFillSync(pool);
  let seq = 0;
  // Payloads are views of the random pool (the client never writes to a payload); only
  // unique payloads, which differ from each other, get their own copy.
  const nextPayload = (): Buffer => {
    const start = (seq % 64) * Math.max(sizeBytes, 8);
    const view = pool.subarray(start, start + sizeBytes);
    const payload = options.unique === true && sizeBytes >= 8 ? Buffer.from(view) : view;
    if (options.unique === true && sizeBytes >= 8) payload.writeDoubleLE(seq, 0);
    seq++;
    return payload;
  };
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let errors = 0;
  let recent: number[] = [];
  let recentOps = 0;
  let recentErrors = 0;
  const histogram = new LatencyHistogram();
  const timeline: TimelinePoint[] = [];
  const started = performance.now();
  const endAt = started + durationMs;
  let lastProgress = started;
  const progressEvery = options.progressEveryMs ?? 1000;
  const record = (ms: number): void => {
    if (count === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[count++] = ms;
    histogram.record(ms);
    recent.push(ms);
    recentOps++;
  };
  const closeInterval = (now: number): void => {
    const sorted = Float64Array.from(recent).sort();
    const opsPerSec = (recentOps * 1000) / Math.max(now - lastProgress, 1e-3);
    timeline.push({
      atS: Number(((now - started) / 1000).toFixed(3)),
      opsPerSec: Math.round(opsPerSec),
      p50Ms: Number(percentile(sorted, 50).toFixed(3)),
      p99Ms: Number(percentile(sorted, 99).toFixed(3)),
      errors: recentErrors,
    });
    options.onProgress?.({
      ops: count,
      errors,
      elapsedMs: now - started,
      recentOpsPerSec: opsPerSec,
      recentP99Ms: percentile(sorted, 99),
      p99SoFarMs: histogram.percentile(99),
    });
    recent = [];
    recentOps = 0;
    recentErrors = 0;
    lastProgress = now;
  };
  const maybeProgress = (now: number): void => {
    if (now - lastProgress >= progressEvery) closeInterval(now);
  };
  const aborted = (): boolean => options.signal?.aborted === true;
  const worker = async (): Promise<void> => {
    while (performance.now() < endAt && !aborted()) {
      const payload = nextPayload();
      const t0 = performance.now();
      try {
        const ack = await client.append(payload);
        const t1 = performance.now();
        record(t1 - t0);
        options.onAck?.(ack, payload, t0, t1);
        maybeProgress(t1);
      } catch (error) {
        errors++;
        recentErrors++;
        options.onError?.(error, payload, t0);
        if (aborted()) break;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  const ticker = setInterval(() => maybeProgress(performance.now()), progressEvery);
  try {
    await Promise.all(Array.from({ length: concurrency }, () => worker()));
  } finally {
    clearInterval(ticker);
  }
  const ended = performance.now();
  // The last, partial interval counts only if it is long enough to say something.
  if (recentOps + recentErrors > 0 && ended - lastProgress >= progressEvery / 4) closeInterval(ended);
  const seconds = (ended - started) / 1000;
  return { ops: count, errors, seconds, latenciesMs: latencies.subarray(0, count).sort(), timeline, histogram };
}
