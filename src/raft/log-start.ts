/**
 * Catch-up beyond the leader's first index (docs/RAFT.md, "Log start"): the
 * leader sends a follower the boundary its log must restart after, plus an
 * optional application snapshot in chunks; the follower collects the chunks
 * and, once it has them all, asks its driver (Ready.logReset) to reset the log.
 *
 * Safety: a follower resets only when it neither holds the boundary entry
 * (index, logTerm) nor starts past it. Entries it acknowledged to the current
 * leader match that leader's log, which holds (index, logTerm), so a follower
 * that lacks or contradicts the boundary acknowledged nothing above it: a
 * delayed or duplicated logStart can never erase acknowledged entries.
 */
import type { Progress } from './progress.js';
import type { RaftLog } from './log.js';
import type { AppSnapshot, LogReset, LogStartMessage, LogStartPoint, LogStartResponseMessage, NodeId } from './types.js';

const EMPTY = new Uint8Array(0);
const NO_SNAPSHOT: AppSnapshot = { version: 0, data: EMPTY };

/** The leader's log start: the boundary before its first retained entry; null if its storage cannot name a position. */
export function leaderLogStart(log: RaftLog): LogStartPoint | null {
  const storage = log.storage;
  if (storage.startPos === undefined) return null;
  const first = storage.firstIndex();
  const term = log.term(first - 1);
  if (term === undefined) return null;
  return { index: first - 1, term, pos: storage.startPos() };
}

export function snapshotOrEmpty(s: AppSnapshot | null | undefined): AppSnapshot {
  return s === null || s === undefined ? NO_SNAPSHOT : s;
}

/** The next chunk for a follower in reset state (from the offset it acknowledged). */
export function logStartChunk(from: NodeId, term: number, pr: Progress, chunkBytes: number, conf?: Uint8Array): LogStartMessage {
  const t = pr.transfer;
  if (t === null) throw new Error('raft: logStartChunk without a transfer');
  const data = t.snapshot.data;
  const lo = Math.min(t.offset, data.byteLength);
  const hi = Math.min(data.byteLength, lo + chunkBytes);
  const m: LogStartMessage = {
    type: 'logStart',
    from,
    to: pr.id,
    term,
    index: t.at.index,
    logTerm: t.at.term,
    pos: t.at.pos,
    snapshotVersion: t.snapshot.version,
    snapshotSize: data.byteLength,
    offset: lo,
    chunk: data.subarray(lo, hi),
  };
  if (conf !== undefined) m.conf = conf;
  return m;
}

/**
 * What a logStartResp means for a follower in reset state: 'done' (probe it
 * after the boundary), 'next' (send the chunk at pr.transfer.offset) or
 * 'ignore' (stale: another boundary, or not in reset).
 */
export function onLogStartResponse(pr: Progress, m: LogStartResponseMessage): 'done' | 'next' | 'ignore' {
  const t = pr.transfer;
  if (pr.state !== 'reset' || t === null || m.index !== t.at.index) return 'ignore';
  if (m.done) return 'done';
  // The follower holds m.offset bytes of m.snapshotVersion. Progress sends the
  // next chunk at once; anything else (a duplicate answer, a late one, bytes of
  // another version) only moves where the next re-send (on a heartbeat answer)
  // starts, so duplicated chunks never multiply into parallel streams.
  const size = t.snapshot.data.byteLength;
  const held = m.snapshotVersion === t.snapshot.version && m.offset <= size ? m.offset : 0;
  if (held > t.offset) {
    t.offset = held;
    pr.probeSent = false;
    return 'next';
  }
  if (held < t.offset) t.offset = held;
  return 'ignore';
}

interface Incoming {
  leader: NodeId;
  term: number;
  index: number;
  logTerm: number;
  pos: number;
  version: number;
  size: number;
  parts: Uint8Array[];
  received: number;
}

/** The follower's side: collects one log start at a time (kept across leaders of one term only). */
export class LogStartReceiver {
  #in: Incoming | null = null;

  /** Bytes collected so far (status, tests). */
  get received(): number {
    return this.#in === null ? 0 : this.#in.received;
  }

  /** Forgets a partial transfer (a new term: a new leader may send another boundary). */
  clear(): void {
    this.#in = null;
  }

  /**
   * Handles one logStart chunk. Returns the answer (offset held / done; null
   * while the boundary is held but not yet durable) and,
   * once the whole snapshot arrived and a reset is needed, the reset to do.
   */
  receive(log: RaftLog, m: LogStartMessage, epoch: number): { resp: LogStartResponseMessage | null; reset: LogReset | null } {
    const resp = (offset: number, done: boolean): LogStartResponseMessage => ({
      type: 'logStartResp',
      from: m.to,
      to: m.from,
      term: m.term,
      index: m.index,
      snapshotVersion: m.snapshotVersion,
      offset,
      done,
      epoch,
    });
    if (!needsReset(log, m.index, m.logTerm)) {
      this.#in = null;
      // Done only once the boundary is durable here (the leader then counts it
      // as matched); until then no answer: the leader re-sends on a heartbeat answer.
      if (log.firstIndex() - 1 <= m.index && log.durable < m.index) return { resp: null, reset: null };
      return { resp: resp(m.snapshotSize, true), reset: null };
    }
    let cur = this.#in;
    const same =
      cur !== null &&
      cur.leader === m.from &&
      cur.term === m.term &&
      cur.index === m.index &&
      cur.logTerm === m.logTerm &&
      cur.version === m.snapshotVersion &&
      cur.size === m.snapshotSize;
    if (m.offset === 0 && (!same || (cur as Incoming).received !== 0)) {
      cur = {
        leader: m.from,
        term: m.term,
        index: m.index,
        logTerm: m.logTerm,
        pos: m.pos,
        version: m.snapshotVersion,
        size: m.snapshotSize,
        parts: [],
        received: 0,
      };
      this.#in = cur;
    } else if (!same) {
      return { resp: resp(0, false), reset: null };
    }
    const c = cur as Incoming;
    if (m.offset !== c.received || c.received + m.chunk.byteLength > c.size) {
      return { resp: resp(c.received, false), reset: null };
    }
    if (m.chunk.byteLength > 0) {
      c.parts.push(m.chunk.slice());
      c.received += m.chunk.byteLength;
    }
    if (c.received < c.size) return { resp: resp(c.received, false), reset: null };
    this.#in = null;
    const snapshot = concat(c.parts, c.size);
    return { resp: resp(c.size, true), reset: { at: { index: c.index, term: c.logTerm, pos: c.pos }, snapshot } };
  }
}

/** True unless the log holds (index, logTerm) or already starts past index. */
export function needsReset(log: RaftLog, index: number, logTerm: number): boolean {
  if (log.firstIndex() - 1 > index) return false;
  return log.term(index) !== logTerm;
}

function concat(parts: readonly Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
