import { ENTRY_OVERHEAD_BYTES, NONE, type Entry, type HardState } from './types.js';

/**
 * The stable (written) log as the core sees it; implemented by the driver.
 *
 * The core keeps entries it produced or received in memory ("unstable") until
 * the driver reports them durable with markDurable(); it only reads this
 * storage for indexes below its unstable part, i.e. for entries the driver has
 * already written. The storage may be compacted: entries below firstIndex()
 * are gone, but term(firstIndex() - 1) must still be answered (the term of the
 * last compacted entry; 0 when firstIndex() is 1).
 *
 * All methods are synchronous and must not throw for indexes in range.
 */
export interface LogStorage {
  /** Hard state recovered at start (term, vote, commit); { 0, '', 0 } for a new node. */
  hardState(): HardState;
  /** First index still held (1 for a log that was never compacted). */
  firstIndex(): number;
  /** Last index written (firstIndex() - 1 when empty). */
  lastIndex(): number;
  /** Term of `index` for firstIndex()-1 <= index <= lastIndex(); undefined outside. */
  term(index: number): number | undefined;
  /**
   * Entries [lo, hi) with firstIndex() <= lo < hi <= lastIndex() + 1, stopping
   * before the total size (data.byteLength + ENTRY_OVERHEAD_BYTES each) would
   * exceed maxBytes, but always at least one entry. Must return the entry
   * objects the driver wants sent (e.g. with their encoded bytes attached).
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /**
   * Optional: the byte position of entry firstIndex() in the log (opaque to the
   * core, sent in a log start). A storage without it cannot catch a follower
   * up beyond its first index: the core signals Ready.needsCatchUp instead.
   */
  startPos?(): number;
}

export function entrySize(e: Entry): number {
  return e.data.byteLength + ENTRY_OVERHEAD_BYTES;
}

/**
 * In-memory LogStorage for tests, the simulator and benchmarks. Also offers
 * the write side a driver needs: append (with truncation), setHardState and
 * compact.
 */
export class MemoryStorage implements LogStorage {
  /** ents[i] has index offset + i. */
  private ents: Entry[] = [];
  private offset = 1;
  /** Term of entry offset - 1. */
  private baseTerm = 0;
  private hs: HardState = { term: 0, vote: NONE, commit: 0 };
  /** Byte position of entry `offset` (each entry counts entrySize() bytes). */
  private basePos = 0;

  hardState(): HardState {
    return { term: this.hs.term, vote: this.hs.vote, commit: this.hs.commit };
  }

  /** The commit is never stored below the log start (offset - 1), which is committed by definition. */
  setHardState(hs: HardState): void {
    const start = this.offset - 1;
    this.hs = { term: hs.term, vote: hs.vote, commit: hs.commit < start ? start : hs.commit };
  }

  firstIndex(): number {
    return this.offset;
  }

  lastIndex(): number {
    return this.offset + this.ents.length - 1;
  }

  term(index: number): number | undefined {
    if (index === this.offset - 1) return this.baseTerm;
    const e = this.ents[index - this.offset];
    return e === undefined ? undefined : e.term;
  }

  entry(index: number): Entry | undefined {
    return this.ents[index - this.offset];
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo < this.offset || hi > this.lastIndex() + 1 || lo > hi) {
      throw new RangeError(`MemoryStorage.entries(${lo}, ${hi}) outside [${this.offset}, ${this.lastIndex() + 1}]`);
    }
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.ents[i - this.offset] as Entry;
      bytes += entrySize(e);
      if (bytes > maxBytes && out.length > 0) break;
      out.push(e);
    }
    return out;
  }

  /** Writes entries; if entries[0].index <= lastIndex() the suffix from there is dropped first. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = (entries[0] as Entry).index;
    if (first < this.offset) {
      throw new RangeError(`MemoryStorage.append at ${first} below firstIndex ${this.offset}`);
    }
    const last = this.lastIndex();
    if (first > last + 1) {
      throw new RangeError(`MemoryStorage.append at ${first} leaves a gap after ${last}`);
    }
    if (first <= last) this.ents.length = first - this.offset;
    for (let i = 0; i < entries.length; i++) this.ents.push(entries[i] as Entry);
  }

  /**
   * Drops every entry after `index` (the log lost its tail) and clamps the
   * hard state's commit to what is left.
   */
  truncateAfter(index: number): void {
    if (index < this.offset - 1) throw new RangeError(`truncateAfter(${index}) below firstIndex ${this.offset}`);
    if (index >= this.lastIndex()) return;
    this.ents.length = index - this.offset + 1;
    if (this.hs.commit > index) this.hs = { ...this.hs, commit: index };
  }

  startPos(): number {
    return this.basePos;
  }

  /** Byte position of entry `index` (firstIndex() <= index <= lastIndex() + 1). */
  posOf(index: number): number {
    let pos = this.basePos;
    for (let i = this.offset; i < index; i++) pos += entrySize(this.ents[i - this.offset] as Entry);
    return pos;
  }

  /**
   * The log restarts empty after (index, term): firstIndex() becomes index + 1,
   * term(index) answers `term`, entry index + 1 will be at byte `pos`. The hard
   * state's commit is raised to `index` (a log start is always committed).
   */
  resetTo(index: number, term: number, pos = 0): void {
    if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`resetTo: bad index ${index}`);
    this.ents = [];
    this.offset = index + 1;
    this.baseTerm = term;
    this.basePos = pos;
    if (this.hs.commit < index) this.hs = { ...this.hs, commit: index };
  }

  /** Drops entries below `index` (which becomes firstIndex()). Only compact applied entries. */
  compact(index: number): void {
    if (index <= this.offset) return;
    if (index > this.lastIndex() + 1) throw new RangeError(`compact(${index}) past lastIndex ${this.lastIndex()}`);
    this.basePos = this.posOf(index);
    this.baseTerm = this.term(index - 1) as number;
    this.ents = this.ents.slice(index - this.offset);
    this.offset = index;
  }

  /** A copy sharing entry objects (used by the simulator to model a disk). */
  clone(): MemoryStorage {
    const c = new MemoryStorage();
    c.ents = this.ents.slice();
    c.offset = this.offset;
    c.baseTerm = this.baseTerm;
    c.basePos = this.basePos;
    c.hs = this.hardState();
    return c;
  }
}
