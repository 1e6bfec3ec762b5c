/**
 * Range reads on the client port (issue 15; wire format in transport/client-reads-codec.ts):
 * committed entries from `from`, at a stated consistency, with an optional long poll, under
 * flow control. The network client's readRange and tail (client/reads.ts) are built on it.
 *
 * Consistency. The answer is always a run of committed entries (committed entries never
 * change, so any replica's entries at or below its commit index are correct). What the level
 * buys is freshness when the read reaches the end of what this replica knows committed:
 * 'linearizable' and 'lease' first confirm the commit index through the Raft core
 * (replica/read-gate.ts; a non-leader answers ERR_NOT_LEADER and the client goes to the
 * leader), so the answer holds every entry committed anywhere before the request arrived,
 * up to limit/maxBytes; 'follower' answers from this replica if it heard from a leader
 * within maxLagMs. A read whose `limit` entries are all committed here is answered
 * without a confirmation: a full answer is the same whoever gives it.
 *
 * Long poll. When `from` is past the commit index, the request waits up to waitMs (capped
 * at MAX_WAIT_MS) for entry `from` to commit, then answers with what is committed from
 * `from` (possibly nothing). A waiting request holds no entry bytes: a timer and a place
 * in its ledger's waiter set, which it leaves at the answer, at the timeout or when its
 * connection closes.
 *
 * Flow control. A response is built only while the connection's write backlog (bytes
 * queued and not yet taken by the socket, plus responses built and not yet queued) is at
 * most READ_BACKLOG_BYTES; otherwise the read waits for the socket to drain. A consumer
 * that stops reading its socket therefore makes this server hold at most
 * READ_BACKLOG_BYTES + one response (<= MAX_RANGE_BYTES, or one entry if it is larger)
 * per connection, however many reads it has sent; reading also pauses at
 * maxInFlightPerConnection requests (client-connection.ts).
 *
 * System entries (no-op, config) are left out unless the request includes them; the
 * response's `next` then still moves past them, so a stream never re-reads them.
 */
import type { LedgerEntry } from '../entry.js';
import { RaftLedgerError } from '../errors.js';
import type { Ledger } from '../replica/ledger.js';
import { ENTRY_HEAD_BYTES, entriesResponseBytes, type RangeRequest, type RangeResponse } from '../transport/client-reads-codec.js';

export const MAX_WAIT_MS = 30_000;
export const MAX_RANGE_ENTRIES = 10_000;
export const MAX_RANGE_BYTES = 16 * 1024 * 1024;
/** Per connection: responses are built only while its write backlog is at most this. */
export const READ_BACKLOG_BYTES = 8 * 1024 * 1024;
/** When every entry examined is a system entry, read on this many more times before answering empty. */
const MAX_FILTER_ROUNDS = 64;

/** A range read as the router sees it (the request's fields, capped). */
export type RangeRead = Omit<RangeRequest, 'id' | 'group' | 'op'>;
export type RangeResult = Omit<RangeResponse, 'id' | 'kind'>;

/** Counters of a client port's range reads (ClientListener.stats()). */
export interface ReadStats {
  /** Long polls waiting for an entry to commit, now. */
  readsWaitingForCommit: number;
  /** Reads waiting for their connection's write backlog to drain, now. */
  readsWaitingForRoom: number;
  /** The largest write backlog a connection had when a response was admitted. */
  peakReadBacklogBytes: number;
}

export function newReadStats(): ReadStats {
  return { readsWaitingForCommit: 0, readsWaitingForRoom: 0, peakReadBacklogBytes: 0 };
}

/**
 * One connection's side of flow control. The connection reports its queued bytes, calls
 * drained() on the socket's 'drain' and close() when it stops serving, and release()s
 * each entries response once it has queued it.
 */
export class ReadFlow {
  readonly #queuedBytes: () => number;
  readonly #closed = new AbortController();
  #reserved = 0;
  #waiters: Array<() => void> = [];

  constructor(queuedBytes: () => number) {
    this.#queuedBytes = queuedBytes;
  }

  /** Aborts when the connection stops serving. */
  get signal(): AbortSignal {
    return this.#closed.signal;
  }

  get backlogBytes(): number {
    return this.#queuedBytes() + this.#reserved;
  }

  reserve(bytes: number): void {
    this.#reserved += bytes;
  }

  release(bytes: number): void {
    this.#reserved = Math.max(0, this.#reserved - bytes);
  }

  /** Whether a response may be built now (the caller builds and reserves it before it next awaits). */
  get hasRoom(): boolean {
    return this.backlogBytes <= READ_BACKLOG_BYTES || this.signal.aborted;
  }

  /** Resolves at the next drain of the socket (or when the connection closes); check hasRoom again after it. */
  async drain(stats: ReadStats): Promise<void> {
    stats.readsWaitingForRoom++;
    try {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    } finally {
      stats.readsWaitingForRoom--;
    }
  }

  drained(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  close(): void {
    this.#closed.abort();
    this.drained();
  }
}

/** The router's side: a range read of `group` (LedgerRouter.readRange, client-listener.ts). */
export type RangeReader = (group: number, read: RangeRead, flow: ReadFlow, stats: ReadStats) => Promise<RangeResult>;

/** The request's limits capped to the server's. */
export function capRead(request: RangeRequest): RangeRead {
  return {
    from: request.from,
    limit: Math.min(request.limit, MAX_RANGE_ENTRIES),
    maxBytes: Math.min(request.maxBytes, MAX_RANGE_BYTES),
    waitMs: Math.min(request.waitMs, MAX_WAIT_MS),
    consistency: request.consistency,
    maxLagMs: request.maxLagMs,
    includeSystem: request.includeSystem,
  };
}

function connectionClosed(): RaftLedgerError {
  return new RaftLedgerError('ERR_CLOSED', 'the connection closed during the read');
}

/**
 * A range read on a Ledger of this thread: confirmation, long poll, room, then the entries.
 * A replica that closes meanwhile answers the retriable ERR_UNAVAILABLE (the client asks
 * another server; a tail goes on there), not the ledger's own ERR_CLOSED, which a client
 * takes for its own close.
 */
export async function ledgerReadRange(ledger: Ledger, read: RangeRead, flow: ReadFlow, stats: ReadStats): Promise<RangeResult> {
  try {
    return await readOn(ledger, read, flow, stats);
  } catch (error) {
    if (ledger.closed && !flow.signal.aborted) throw new RaftLedgerError('ERR_UNAVAILABLE', 'this replica closed during the read; try another', { cause: error, retriable: true });
    throw error;
  }
}

async function readOn(ledger: Ledger, read: RangeRead, flow: ReadFlow, stats: ReadStats): Promise<RangeResult> {
  if (ledger.commitIndex < read.from + read.limit - 1) {
    await ledger.commitPosition({ consistency: read.consistency, ...(read.maxLagMs > 0 ? { maxLagMs: read.maxLagMs } : {}) });
  }
  if (read.from > ledger.commitIndex && read.waitMs > 0) await commitOf(ledger, read.from, read.waitMs, flow.signal, stats);
  if (ledger.closed) throw new RaftLedgerError('ERR_CLOSED', 'the ledger closed during the read');
  // No await from the room check to the reservation: concurrent reads see each other's bytes.
  while (!flow.hasRoom) await flow.drain(stats);
  if (flow.signal.aborted) throw connectionClosed();
  const backlog = flow.backlogBytes;
  if (backlog > stats.peakReadBacklogBytes) stats.peakReadBacklogBytes = backlog;
  const result = collect(ledger, read);
  flow.reserve(entriesResponseBytes(result.entries));
  return result;
}

/**
 * Committed entries from read.from: at most `limit`, at most `maxBytes` counted as encoded
 * (except a single entry larger than that), system entries left out unless included.
 */
function collect(ledger: Ledger, read: RangeRead): RangeResult {
  const commitIndex = ledger.commitIndex;
  const out: LedgerEntry[] = [];
  let next = read.from;
  let bytes = 0;
  let full = false;
  for (let round = 0; round < MAX_FILTER_ROUNDS && out.length === 0 && !full && next <= commitIndex; round++) {
    const batch = ledger.readRange(next, { limit: read.limit, maxBytes: read.maxBytes, includeSystem: true });
    if (batch.length === 0) break;
    for (const e of batch) {
      const size = ENTRY_HEAD_BYTES + e.payload.byteLength;
      if (out.length > 0 && (bytes + size > read.maxBytes || out.length >= read.limit)) {
        full = true;
        break;
      }
      next = e.index + 1;
      if (!read.includeSystem && e.type !== 'normal') continue;
      out.push(e);
      bytes += size;
    }
  }
  return { commitIndex, next, entries: out };
}

interface CommitWait {
  index: number;
  done: () => void;
}

/** Per ledger: the long polls waiting for a commit, served by one 'commit' listener. */
const commitWaits = new WeakMap<Ledger, Set<CommitWait>>();

/** Resolves once `index` is committed on `ledger`, after waitMs, or when `signal` aborts. */
function commitOf(ledger: Ledger, index: number, waitMs: number, signal: AbortSignal, stats: ReadStats): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  let waits = commitWaits.get(ledger);
  if (waits === undefined) {
    const set = new Set<CommitWait>();
    waits = set;
    commitWaits.set(ledger, set);
    const onCommit = (commit: number): void => {
      for (const w of [...set]) if (commit >= w.index) w.done();
      if (set.size === 0) {
        ledger.off('commit', onCommit);
        commitWaits.delete(ledger);
      }
    };
    ledger.on('commit', onCommit);
  }
  const set = waits;
  stats.readsWaitingForCommit++;
  return new Promise<void>((resolve) => {
    const wait: CommitWait = {
      index,
      done: () => {
        if (!set.delete(wait)) return;
        stats.readsWaitingForCommit--;
        clearTimeout(timer);
        signal.removeEventListener('abort', wait.done);
        resolve();
      },
    };
    const timer = setTimeout(wait.done, waitMs);
    signal.addEventListener('abort', wait.done, { once: true });
    set.add(wait);
  });
}
