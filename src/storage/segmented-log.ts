/**
 * SegmentedLog: the durable, CRC-checked, segmented commit log of one replica.
 *
 * Invariants (see docs/FORMAT.md for the bytes):
 *  - Records are packed back to back; a record never straddles segments; the record at
 *    log index i has the same `pos` on every replica that holds it, because placement is
 *    a pure function of the previous record's end and the segment size.
 *  - Indexes are contiguous from firstIndex to lastIndex; terms never decrease.
 *  - "written" and "durable" are separate moments: append*() returns once the bytes are in
 *    the mapping (visible to reads, survive a process crash); flush() resolves with the
 *    index known to be on disk (survives a machine crash). flushedIndex <= lastIndex.
 *  - A failed flush latches: the log refuses further appends and flushes (ERR_LOG_FAILED).
 *  - truncateSuffix() is durable before any later flush() resolves, so an acknowledged
 *    flush never hides old bytes that a crash could bring back.
 *
 * This class is a facade over one LogState; each job lives in its own module of
 * ./log/: open (identity, open and close), segments (files and placement), recovery,
 * append, read (CRC-checked reads, index self-repair), flush (group commit, checkpoints)
 * and retention (truncation).
 */
import type { RaftLedgerError } from '../errors.js';
import { RecordType } from './format.js';
import { MIN_SEGMENT_SIZE_BYTES } from './identity.js';
import type { MetaState, MetaStore } from './meta-store.js';
import { appendEntries, appendRecords, freeSpaceBytes } from './log/append.js';
import { flush } from './log/flush.js';
import { DEFAULT_SEGMENT_SIZE_BYTES, closeLog, openLog } from './log/open.js';
import { posOf, readRange, term } from './log/read.js';
import { damagedRanges, findDamage, writeBackRecord, type DamagedRange, type DamagedRecord } from './log/damage.js';
import { applyRetention, truncatePrefix, truncateSuffix } from './log/retention.js';
import { resetTo, type ResetPoint } from './log/reset.js';
import { logSizeBytes, type LogState } from './log/state.js';
import type { AppendInput, AppendRecordsOptions, AppendResult, LogEntry, ProducerSpan, RecoveryReport, SegmentedLogOptions } from './log/types.js';

export { MIN_SEGMENT_SIZE_BYTES, DEFAULT_SEGMENT_SIZE_BYTES };
export { DEFAULT_INDEX_SLOTS_PER_FILE } from './log/open.js';
export type { ResetPoint } from './log/reset.js';
export type { DamagedRange, DamagedRecord } from './log/damage.js';
export type { AppendInput, AppendRecordsOptions, ProducerSpan, AppendResult, FlushedEvent, LogEntry, OnFlushed, RecoveryReport, SegmentedLogOptions } from './log/types.js';

export class SegmentedLog {
  readonly #st: LogState;

  private constructor(st: LogState) {
    this.#st = st;
  }

  /**
   * Open (or create) the log in options.dir and recover it: scan the tail after the
   * last durable checkpoint, truncate a torn tail, fail with ERR_LOG_CORRUPT on damage
   * followed by valid records, and make everything recovered durable before resolving.
   */
  static async open(options: SegmentedLogOptions): Promise<SegmentedLog> {
    return new SegmentedLog(await openLog(options));
  }

  // ---------------------------------------------------------------- accessors

  get dir(): string {
    return this.#st.dir;
  }
  get segmentSizeBytes(): number {
    return this.#st.segmentSizeBytes;
  }
  get maxEntrySizeBytes(): number {
    return this.#st.maxEntrySizeBytes;
  }
  get readOnly(): boolean {
    return this.#st.readOnly;
  }
  get meta(): MetaStore {
    return this.#st.meta;
  }
  get recovery(): RecoveryReport {
    return this.#st.recovery;
  }
  get firstIndex(): number {
    return this.#st.firstIndex;
  }
  get lastIndex(): number {
    return this.#st.lastIndex;
  }
  get lastTerm(): number {
    return this.#st.lastTerm;
  }
  /** Absolute position where the next record goes (before any roll). */
  get writePos(): number {
    return this.#st.writePos;
  }
  /** Highest index known durable on disk. */
  get flushedIndex(): number {
    return this.#st.flushedIndex;
  }
  get flushedPos(): number {
    return this.#st.flushedPos;
  }
  get closed(): boolean {
    return this.#st.closed;
  }
  get failed(): RaftLedgerError | undefined {
    return this.#st.failed;
  }
  get segmentCount(): number {
    return this.#st.segments.length;
  }
  /** Bytes between the first segment's start and the write position. */
  get sizeBytes(): number {
    return logSizeBytes(this.#st);
  }
  get hardState(): Readonly<MetaState> {
    return this.#st.meta.hardState;
  }

  /** pos of the first retained entry (writePos when the log holds none). */
  get firstPos(): number {
    return this.#st.lastIndex >= this.#st.firstIndex ? posOf(this.#st, this.#st.firstIndex) : this.#st.writePos;
  }
  /** Bytes the segment files take (each is allocated at full size; the spare segment included). */
  get diskBytes(): number {
    return this.#st.segments.length * this.#st.segmentSizeBytes;
  }
  /** Free bytes on the log's filesystem (one statfs call: not for per-append use). */
  freeSpaceBytes(): number {
    return freeSpaceBytes(this.#st);
  }

  segments(): Array<{ path: string; base: number; sizeBytes: number }> {
    const sizeBytes = this.#st.segmentSizeBytes;
    return this.#st.segments.map((s) => ({ path: s.handle.path, base: s.base, sizeBytes }));
  }

  // ---------------------------------------------------------------- appends

  /**
   * Append entries as the leader (or a standalone log): encode, checksum and place them;
   * the entries `producers` covers get a producer header (ProducerSpan). Atomic with respect
   * to validation and space: nothing is written if any entry is too large, out of order, or
   * a segment cannot be created.
   */
  appendEntries(entries: readonly AppendInput[], keepRecords = true, producers?: readonly ProducerSpan[]): AppendResult {
    return appendEntries(this.#st, entries, keepRecords, producers);
  }

  /** Convenience for standalone use: append payloads in `term`; returns { index, pos } per payload. */
  append(payloads: Uint8Array | readonly Uint8Array[], term = Math.max(this.#st.lastTerm, 1), type: RecordType = RecordType.Normal): Array<{ index: number; pos: number }> {
    const list = payloads instanceof Uint8Array ? [payloads] : payloads;
    if (!Array.isArray(list)) throw new TypeError('append: payloads must be a Uint8Array or an array of them');
    const result = this.appendEntries(list.map((data) => ({ term, type, data })), false);
    return result.positions.map((pos, i) => ({ index: result.firstIndex + i, pos }));
  }

  /**
   * Append records received from the leader, verbatim: each must carry a valid CRC, the
   * next index, a term no lower than the last, and the pos this log would place it at.
   * `records` holds one or more records packed back to back, or is a list of such parts
   * that continue each other (written without joining them first; all or nothing as for
   * one part). See AppendRecordsOptions for records already checked on arrival.
   */
  appendRecords(records: Uint8Array | readonly Uint8Array[], options: AppendRecordsOptions = {}): { firstIndex: number; lastIndex: number } {
    return appendRecords(this.#st, records, options);
  }

  // ---------------------------------------------------------------- reads

  /** Term of `index`; 0 for index 0. Throws ERR_COMPACTED / ERR_OUT_OF_RANGE outside the log. */
  term(index: number): number {
    return term(this.#st, index);
  }

  /** Absolute position of the record of `index`. */
  posOf(index: number): number {
    return posOf(this.#st, index);
  }

  /** One entry, CRC-checked, copied out of the mapping. */
  read(index: number): LogEntry {
    const entries = this.readRange(index, index + 1);
    return entries[0]!;
  }

  /**
   * Entries [from, to) (to exclusive), stopping early once maxBytes of records have been
   * collected (at least one entry is always returned). Each read is CRC-checked.
   */
  readRange(from: number, to: number, maxBytes = Number.POSITIVE_INFINITY): LogEntry[] {
    return readRange(this.#st, from, to, maxBytes);
  }

  // ---------------------------------------------------------------- damage (log/damage.ts)

  /**
   * Re-verify the records of [from, to] (default: the whole log) against their index slots;
   * what fails is listed as damaged (reads of it fail with ERR_LOG_DAMAGED until it is
   * written back) and returned. `onBytes` sees each record's size (rate limiting).
   */
  findDamage(from?: number, to?: number, onBytes?: (sizeBytes: number) => void): DamagedRecord[] {
    return findDamage(this.#st, from, to, onBytes);
  }

  /** The damaged records not yet repaired, sorted by index. */
  get damaged(): readonly DamagedRecord[] {
    return this.#st.damaged;
  }

  /** The damaged indexes as contiguous inclusive ranges. */
  damagedRanges(): DamagedRange[] {
    return damagedRanges(this.#st);
  }

  /**
   * Write a verified copy (a peer's verbatim record) of damaged `index` back at its pos and
   * make it durable; refuses (ERR_LOG_CORRUPT) a record that is not exactly the index, term,
   * pos, size and CRC its index slot expects.
   */
  writeBackRecord(index: number, record: Uint8Array): Promise<void> {
    return writeBackRecord(this.#st, index, record);
  }

  /** Iterate entries from `from` to the current last index, in chunks. */
  *entries(from = this.#st.firstIndex, chunkBytes = 4 * 1024 * 1024): Generator<LogEntry> {
    let index = Math.max(from, this.#st.firstIndex);
    while (index <= this.#st.lastIndex) {
      const chunk = this.readRange(index, this.#st.lastIndex + 1, chunkBytes);
      for (const entry of chunk) yield entry;
      index += chunk.length;
    }
  }

  // ---------------------------------------------------------------- durability

  /**
   * Make everything written so far durable. Group commit: at most one flush runs; calls
   * made meanwhile share the next one. Resolves with flushedIndex.
   */
  flush(): Promise<number> {
    return flush(this.#st);
  }

  // ---------------------------------------------------------------- truncation

  /**
   * Remove entries [fromIndex, lastIndex] (a follower's conflicting suffix). Takes
   * effect at once for reads and appends; the removal is durable before the next
   * flush() resolves, and before the returned promise resolves.
   */
  truncateSuffix(fromIndex: number): Promise<void> {
    return truncateSuffix(this.#st, fromIndex);
  }

  /**
   * Retention: delete whole segments (and index files) whose every entry is below
   * `beforeIndex`. The active segment is never deleted. Returns the new firstIndex.
   */
  truncatePrefix(beforeIndex: number): Promise<number> {
    return truncatePrefix(this.#st, beforeIndex);
  }

  /**
   * Apply a retention policy: drop the oldest segments while the log is larger than
   * maxBytes or a segment is older than maxAgeMs, never dropping an index >= keepFromIndex.
   */
  applyRetention(policy: { maxBytes?: number; maxAgeMs?: number; keepFromIndex: number; nowMs?: number }): Promise<number> {
    return applyRetention(this.#st, policy);
  }

  /**
   * The storage reset (docs/FORMAT.md, "Log reset"): drop the whole log and restart it
   * empty after (index, term), its next record (index + 1) at absolute position `pos`
   * in the segment floor(pos / segmentSize) * segmentSize. Durable and crash-atomic
   * (the old log or the new start, never a mix) when the promise resolves. Nothing may
   * be appended until it resolves.
   */
  resetTo(at: ResetPoint): Promise<void> {
    return resetTo(this.#st, at);
  }

  // ---------------------------------------------------------------- close

  /** Flush, checkpoint and unmap. Idempotent; waits for in-flight work. */
  close(): Promise<void> {
    return closeLog(this.#st);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
