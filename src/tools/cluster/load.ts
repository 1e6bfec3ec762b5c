/**
 * Closed-loop load against a cluster through the network client: `concurrency` appends
 * kept in flight, each a `sizeBytes` random payload, for a fixed time. Latency is
 * measured at the client from invocation to acknowledgement. Shared by bench and demo.
 */
import { randomFillSync } from 'node:crypto';
import type { Client } from '../../client/index.js';

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
}

export interface LoadResult {
  ops: number;
  errors: number;
  seconds: number;
  /** Sorted latencies in ms. */
  latenciesMs: Float64Array;
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
    recent.push(ms);
    recentOps++;
  };
  const maybeProgress = (now: number): void => {
    if (options.onProgress === undefined || now - lastProgress < progressEvery) return;
    const sorted = Float64Array.from(recent).sort();
    options.onProgress({
      ops: count,
      errors,
      elapsedMs: now - started,
      recentOpsPerSec: (recentOps * 1000) / (now - lastProgress),
      recentP99Ms: percentile(sorted, 99),
    });
    recent = [];
    recentOps = 0;
    lastProgress = now;
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
  const seconds = (performance.now() - started) / 1000;
  return { ops: count, errors, seconds, latenciesMs: latencies.subarray(0, count).sort() };
}
