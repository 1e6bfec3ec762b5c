/**
 * LedgerStats: the few numbers a Ledger must count on its own paths for metrics (appends,
 * bytes, leader changes, elections, commit and fsync latency), as plain counters and
 * fixed-bucket histograms. They travel in status() (structured-cloneable, so they cross
 * worker threads with the host's status RPC); the server turns them into Prometheus metrics
 * at scrape time. Contract: one observe per append() call (a batch) and per flush, never
 * per entry; nothing here allocates on those paths.
 */

/** Upper bounds (seconds) of the commit latency buckets: propose to commit, on the leader. */
export const COMMIT_LATENCY_BUCKETS_SECONDS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Upper bounds (seconds) of the fsync (log flush) latency buckets. */
export const FSYNC_LATENCY_BUCKETS_SECONDS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export interface HistogramSnapshot {
  /** Upper bounds, ascending; counts has one more slot (+Inf). */
  bounds: readonly number[];
  /** Observations per bucket (not cumulative). */
  counts: number[];
  sumSeconds: number;
  count: number;
}

export interface LedgerStatsSnapshot {
  /** Entries accepted by append() on this replica as leader, and their payload bytes. */
  appends: number;
  appendBytes: number;
  /** Times the known leader changed to a new non-empty id. */
  leaderChanges: number;
  /** Elections this replica started (became candidate). */
  elections: number;
  commitLatency: HistogramSnapshot;
  fsyncLatency: HistogramSnapshot;
  /** Highest commit index a leader of the current term sent this replica (AppendEntries carry the leader's commit). */
  leaderCommit: number;
  /** Milliseconds since the last AppendEntries/heartbeat from a leader (-1: none yet). */
  msSinceLeaderContact: number;
}

export class FixedHistogram {
  readonly bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.#counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(seconds: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && seconds > b[i]!) i++;
    this.#counts[i]!++;
    this.#sum += seconds;
    this.#count++;
  }

  snapshot(): HistogramSnapshot {
    return { bounds: this.bounds, counts: [...this.#counts], sumSeconds: this.#sum, count: this.#count };
  }
}

export class LedgerStats {
  appends = 0;
  appendBytes = 0;
  leaderChanges = 0;
  elections = 0;
  leaderCommit = 0;
  /** Ticks since open (the Ledger counts them) and the tick of the last message from a leader (-1: none yet). */
  ticks = 0;
  leaderContactTick = -1;
  readonly commitLatency = new FixedHistogram(COMMIT_LATENCY_BUCKETS_SECONDS);
  readonly fsyncLatency = new FixedHistogram(FSYNC_LATENCY_BUCKETS_SECONDS);

  snapshot(tickMs: number): LedgerStatsSnapshot {
    return {
      appends: this.appends,
      appendBytes: this.appendBytes,
      leaderChanges: this.leaderChanges,
      elections: this.elections,
      commitLatency: this.commitLatency.snapshot(),
      fsyncLatency: this.fsyncLatency.snapshot(),
      leaderCommit: this.leaderCommit,
      msSinceLeaderContact: this.leaderContactTick < 0 ? -1 : (this.ticks - this.leaderContactTick) * tickMs,
    };
  }
}

/** The thread-wide Raft transport counters a group's status carries (the same for every group of a GroupSet). */
export interface TransportSnapshot {
  dropped: number;
  refused: number;
  /** Inbound peer connections refused, by reason (plaintext, tls, identity, handshake). */
  refusedByReason?: Record<string, number>;
  peers: Record<string, { connected: boolean; dropped: number; queuedBytes: number }>;
}
