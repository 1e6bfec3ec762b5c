import { entrySize, type LogStorage } from './storage.js';
import { EntryType, type Entry, type LogStartPoint } from './types.js';

const NO_ENTRIES: Entry[] = [];

/** Sees every change to the log's contents (the core's Membership: docs/RAFT.md, "Membership change"). */
export interface LogObserver {
  /** ents[from..] were appended (a truncation they caused was reported first). */
  appended(ents: readonly Entry[], from: number): void;
  /** Every entry from `index` on left the log. */
  truncated(index: number): void;
}

/**
 * The core's view of the log: the driver's written log (LogStorage) below
 * `offset`, plus the in-memory "unstable" entries from `offset` on, which are
 * kept until the driver reports them durable. Invariant:
 * lastIndex() === offset + unstable.length - 1.
 */
export class RaftLog {
  unstable: Entry[] = [];
  /** Index of unstable[0]. */
  offset: number;
  /** Last index handed to the driver in a Ready (entries above it still have to be written). */
  inProgress: number;
  /** Last index the driver reported durable (and still part of our log). */
  durable: number;
  committed: number;
  /** Last index the application finished applying (advance()). */
  applied: number;
  /** Last index handed out in Ready.committed. */
  applying: number;
  /**
   * Follower: a log start handed to the driver (Ready.logReset) that storage
   * does not show yet (a driver may reset asynchronously); until storage shows
   * it (first index and boundary term), it stands for them.
   */
  pendingStart: LogStartPoint | null = null;
  /** Told of appends and truncations (set once by the core). */
  observer: LogObserver | null = null;

  /** Forgets pendingStart once storage shows the reset. */
  #settled(): LogStartPoint | null {
    const ps = this.pendingStart;
    if (ps !== null && this.storage.firstIndex() === ps.index + 1 && this.storage.term(ps.index) === ps.term) this.pendingStart = null;
    return this.pendingStart;
  }

  constructor(
    readonly storage: LogStorage,
    committed: number,
    applied: number,
  ) {
    const last = storage.lastIndex();
    this.offset = last + 1;
    this.inProgress = last;
    this.durable = last;
    this.committed = committed;
    this.applied = applied;
    this.applying = applied;
  }

  firstIndex(): number {
    const ps = this.pendingStart === null ? null : this.#settled();
    return ps === null ? this.storage.firstIndex() : ps.index + 1;
  }

  lastIndex(): number {
    return this.offset + this.unstable.length - 1;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) as number;
  }

  /** Term of `index`, or undefined if it is compacted or beyond the end. */
  term(index: number): number | undefined {
    if (index >= this.offset) {
      const e = this.unstable[index - this.offset];
      return e === undefined ? undefined : e.term;
    }
    const ps = this.pendingStart === null ? null : this.#settled();
    if (ps !== null) return index === ps.index ? ps.term : undefined;
    if (index === 0) return 0;
    return this.storage.term(index);
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Entries [lo, hi) limited by maxBytes (at least one) and maxCount; null if
   * lo is below the storage's firstIndex (compacted).
   */
  slice(lo: number, hi: number, maxBytes: number, maxCount: number): Entry[] | null {
    if (lo >= hi) return NO_ENTRIES;
    if (hi - lo > maxCount) hi = lo + maxCount;
    if (lo >= this.offset) return this.sliceUnstable(lo, hi, maxBytes);
    if (lo < this.firstIndex()) return null;
    const stableHi = hi < this.offset ? hi : this.offset;
    const fromStorage = this.storage.entries(lo, stableHi, maxBytes);
    if (stableHi === hi || fromStorage.length < stableHi - lo) return fromStorage;
    let bytes = 0;
    for (let i = 0; i < fromStorage.length; i++) bytes += entrySize(fromStorage[i] as Entry);
    const u = this.unstable;
    for (let i = this.offset; i < hi; i++) {
      const e = u[i - this.offset] as Entry;
      bytes += entrySize(e);
      if (bytes > maxBytes) break;
      fromStorage.push(e);
    }
    return fromStorage;
  }

  private sliceUnstable(lo: number, hi: number, maxBytes: number): Entry[] {
    const u = this.unstable;
    const off = this.offset;
    let end = lo - off;
    const stop = hi - off;
    let bytes = 0;
    while (end < stop) {
      bytes += entrySize(u[end] as Entry);
      if (bytes > maxBytes && end > lo - off) break;
      end++;
    }
    return u.slice(lo - off, end);
  }

  /** Appends entries produced by this node (the leader); indexes must follow lastIndex(). */
  push(e: Entry): void {
    this.unstable.push(e);
    if (e.type === EntryType.Config) this.observer?.appended([e], 0);
  }

  /**
   * Writes ents[from..] into the log, truncating any suffix from
   * ents[from].index first. Never truncates committed entries.
   */
  truncateAndAppend(ents: readonly Entry[], from: number): void {
    const first = (ents[from] as Entry).index;
    if (first <= this.committed) {
      throw new Error(`raft: refusing to truncate committed entry ${first} (committed ${this.committed})`);
    }
    const end = this.offset + this.unstable.length;
    if (first === end) {
      // plain append
    } else if (first <= this.offset) {
      this.unstable = [];
      this.offset = first;
    } else {
      this.unstable.length = first - this.offset;
    }
    if (first < end) {
      if (this.inProgress > first - 1) this.inProgress = first - 1;
      if (this.durable > first - 1) this.durable = first - 1;
    }
    const u = this.unstable;
    for (let i = from; i < ents.length; i++) u.push(ents[i] as Entry);
    if (this.observer !== null) {
      if (first < end) this.observer.truncated(first);
      this.observer.appended(ents, from);
    }
  }

  hasUnsentEntries(): boolean {
    return this.inProgress < this.lastIndex();
  }

  /** Entries not yet handed to the driver; marks them in progress. */
  takeUnsent(): Entry[] {
    const last = this.lastIndex();
    if (this.inProgress >= last) return NO_ENTRIES;
    const from = this.inProgress + 1 - this.offset;
    const out = from === 0 ? this.unstable.slice() : this.unstable.slice(from);
    this.inProgress = last;
    return out;
  }

  /**
   * The driver reports that its log is durable through (index, term). Ignored
   * unless our log still has that entry (a late report about a truncated
   * suffix). Returns true if the durable index advanced.
   */
  stableTo(index: number, term: number): boolean {
    if (index <= this.durable || index > this.inProgress) return false;
    if (this.term(index) !== term) return false;
    this.durable = index;
    if (index >= this.offset) {
      const n = index - this.offset + 1;
      this.unstable = n === this.unstable.length ? [] : this.unstable.slice(n);
      this.offset = index + 1;
    }
    return true;
  }

  /** Largest index <= `index` whose term is <= `term` (and that term); stops at compaction. */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = index;
    for (;;) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
      i--;
    }
  }

  /**
   * The log restarts empty after `at` (a log start from the leader, which is
   * committed there): everything is dropped, `at.index` counts as durable,
   * committed and applied (the application snapshot stands for it).
   */
  resetTo(at: LogStartPoint): void {
    this.unstable = [];
    this.offset = at.index + 1;
    this.inProgress = at.index;
    this.durable = at.index;
    if (this.committed < at.index) this.committed = at.index;
    if (this.applied < at.index) this.applied = at.index;
    if (this.applying < at.index) this.applying = at.index;
    this.pendingStart = at;
    this.observer?.truncated(at.index + 1);
  }

  commitTo(index: number): boolean {
    if (index > this.committed) {
      this.committed = index;
      return true;
    }
    return false;
  }
}
