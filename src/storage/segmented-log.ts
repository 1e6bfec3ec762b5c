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
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { RaftLedgerError, fromSystemError } from '../errors.js';
import { native, type NativeSegment, type ScanResult } from './native.js';
import {
  HEADER_SIZE_BYTES,
  MAX_ENTRY_SIZE_LIMIT_BYTES,
  RecordOffset,
  RecordType,
  SLOT_SIZE_BYTES,
  FORMAT_VERSION,
  RECORD_MAGIC,
  dataViewOf,
  parseSegmentFileName,
  readHeader,
  readU64,
  segmentFileName,
  writeHeader,
  writeSlot,
  type IndexSlot,
} from './format.js';
import { LogIndex } from './log-index.js';
import { IDENTITY_FILE, MIN_SEGMENT_SIZE_BYTES, readIdentity, type Identity } from './identity.js';
import { claimOwner, ownerOption, type DirOwner } from './identity.js'; // [dir-owner]
import { isLogDirEntry, lockLogDir, type DirLock } from './dir-lock.js'; // [dir-lock]

export { MIN_SEGMENT_SIZE_BYTES };
import { MetaStore, type Checkpoint, type MetaState } from './meta-store.js';

/** TEST-ONLY: file that receives '<dir>\t<flushedPos>' after every successful flush (fault injection). */
const FSYNC_JOURNAL = process.env.RAFTLEDGER_FSYNC_JOURNAL || undefined;

export const DEFAULT_SEGMENT_SIZE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_INDEX_SLOTS_PER_FILE = 1024 * 1024;
const SCAN_SLOT_CHUNK = 65536;

export interface SegmentedLogOptions {
  dir: string;
  /** Size of each data segment (new logs; an existing log keeps its own and a different value is ERR_BAD_CONFIG). */
  segmentSizeBytes?: number;
  /** Slots per index file (new logs only). */
  indexSlotsPerFile?: number;
  /** Largest payload accepted by append (default: min(segment size - 48, 64 MiB)). */
  maxEntrySizeBytes?: number;
  /** Create the log when `dir` holds none (default true). */
  create?: boolean;
  /** Map everything read-only; recovery happens in memory only (inspect, dump). */
  readOnly?: boolean;
  /** On mid-log damage found by recovery, truncate from there instead of failing with ERR_LOG_CORRUPT. */
  truncateCorrupt?: boolean;
  /** Minimum time between recovery checkpoints (default 1000 ms). */
  checkpointIntervalMs?: number;
  /** Create and prefault the next segment before it is needed (default true). */
  preallocate?: boolean;
  /** Receives human-readable notes about recovery (torn tail truncated, index rebuilt). */
  onNotice?: (message: string) => void;
  /** [dir-owner] The replica opening the log: stored in a new log, checked (ERR_FOREIGN_DIR) or adopted in an existing one (identity.ts claimOwner). */
  owner?: DirOwner;
}

export interface AppendInput {
  /** Must be lastIndex + 1 (then +1 per entry); omitted: assigned. */
  index?: number;
  term: number;
  type?: RecordType;
  data: Uint8Array;
}

export interface AppendResult {
  firstIndex: number;
  /** pos of each appended record. */
  positions: number[];
  /** Each record's on-disk bytes (views of one buffer; treat as read-only). */
  records: Uint8Array[];
}

export interface LogEntry {
  index: number;
  term: number;
  type: RecordType;
  pos: number;
  /** The payload (a copy: never a view of the mapping). */
  data: Buffer;
  /** The whole record as stored: header + payload. `data` is a view of it. */
  record: Buffer;
}

export interface RecoveryReport {
  /** Where the scan started (absolute pos) and whether a checkpoint was used. */
  scanFromPos: number;
  usedCheckpoint: boolean;
  scannedRecords: number;
  scannedBytes: number;
  /** Set when a torn or damaged tail was cut off. */
  truncatedAtPos?: number;
  truncatedReason?: string;
  indexRebuilt: boolean;
}

interface Segment {
  base: number;
  handle: NativeSegment;
}

function checkPositiveInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

function corrupt(message: string, path: string, offset: number, cause?: unknown): RaftLedgerError {
  return new RaftLedgerError('ERR_LOG_CORRUPT', `${message} (${path} at offset ${offset})`, {
    path,
    offset,
    ...(cause !== undefined ? { cause } : {}),
  });
}

export class SegmentedLog {
  readonly dir: string;
  readonly segmentSizeBytes: number;
  readonly maxEntrySizeBytes: number;
  readonly readOnly: boolean;
  readonly meta: MetaStore;
  readonly recovery: RecoveryReport;

  readonly #logDir: string;
  readonly #index: LogIndex;
  readonly #segments: Segment[] = [];
  readonly #checkpointIntervalMs: number;
  readonly #preallocate: boolean;
  readonly #notice: (message: string) => void;

  #firstIndex = 1;
  #lastIndex = 0;
  #lastTerm = 0;
  #writePos = 0;

  #flushedIndex = 0;
  #flushedPos = 0;
  /** Lowest / highest absolute positions modified since the last flush started. */
  #dirtyFrom = Number.POSITIVE_INFINITY;
  #dirtyTo = 0;
  #flushRunning: Promise<void> | undefined;
  #flushAgain = false;
  #flushWaiters: Array<{ resolve: (index: number) => void; reject: (error: unknown) => void }> = [];
  #nextFlushWaiters: Array<{ resolve: (index: number) => void; reject: (error: unknown) => void }> = [];
  #failed: RaftLedgerError | undefined;
  #truncations: Promise<void>[] = [];
  #lastCheckpoint: Checkpoint | undefined;
  #lastCheckpointAtMs = 0;
  #checkpointRunning: Promise<void> | undefined;
  #background = new Set<Promise<unknown>>();
  #closed = false;
  #closing: Promise<void> | undefined;
  #scratch: Buffer = Buffer.allocUnsafeSlow(64 * 1024);
  #dirLock: DirLock | undefined; // [dir-lock] held from open to close unless readOnly

  private constructor(
    options: SegmentedLogOptions,
    identity: Identity,
    meta: MetaStore,
  ) {
    this.dir = options.dir;
    this.readOnly = options.readOnly ?? false;
    this.segmentSizeBytes = identity.segmentSizeBytes;
    const maxEntryDefault = Math.min(identity.segmentSizeBytes - HEADER_SIZE_BYTES, MAX_ENTRY_SIZE_LIMIT_BYTES);
    this.maxEntrySizeBytes =
      options.maxEntrySizeBytes === undefined
        ? maxEntryDefault
        : checkPositiveInteger('maxEntrySizeBytes', options.maxEntrySizeBytes, 1, maxEntryDefault);
    this.#checkpointIntervalMs =
      options.checkpointIntervalMs === undefined ? 1000 : checkPositiveInteger('checkpointIntervalMs', options.checkpointIntervalMs, 0, 86_400_000);
    this.#preallocate = options.preallocate ?? true;
    this.#notice = options.onNotice ?? (() => {});
    this.meta = meta;
    this.#logDir = join(options.dir, 'log');
    this.#index = new LogIndex(join(options.dir, 'index'), identity.indexSlotsPerFile, this.readOnly);
    this.recovery = { scanFromPos: 0, usedCheckpoint: false, scannedRecords: 0, scannedBytes: 0, indexRebuilt: false };
  }

  /**
   * Open (or create) the log in options.dir and recover it: scan the tail after the
   * last durable checkpoint, truncate a torn tail, fail with ERR_LOG_CORRUPT on damage
   * followed by valid records, and make everything recovered durable before resolving.
   */
  static async open(options: SegmentedLogOptions): Promise<SegmentedLog> {
    if (options === null || typeof options !== 'object') throw new TypeError('SegmentedLog.open: options must be an object');
    if (typeof options.dir !== 'string' || options.dir === '') throw new TypeError('SegmentedLog.open: dir must be a non-empty string');
    if (options.segmentSizeBytes !== undefined) {
      checkPositiveInteger('segmentSizeBytes', options.segmentSizeBytes, MIN_SEGMENT_SIZE_BYTES, 2 ** 40);
      if (options.segmentSizeBytes % 4096 !== 0) throw new RangeError('segmentSizeBytes must be a multiple of 4096');
    }
    if (options.indexSlotsPerFile !== undefined) checkPositiveInteger('indexSlotsPerFile', options.indexSlotsPerFile, 1024, 2 ** 28);
    if (options.owner !== undefined) options = { ...options, owner: ownerOption(options.owner) }; // [dir-owner]
    const dirLock = lockLogDir(options); // [dir-lock] ERR_DIR_LOCKED while another open holds it
    let log: SegmentedLog;
    try {
      const identity = await claimOwner(options.dir, await SegmentedLog.#openIdentity(options), options.owner, options.readOnly ?? false); // [dir-owner]
      log = new SegmentedLog(options, identity, MetaStore.open(options.dir));
    } catch (error) {
      dirLock?.release(); // [dir-lock]
      throw error;
    }
    log.#dirLock = dirLock; // [dir-lock]
    try {
      log.#openSegments();
      await log.#recover(options.truncateCorrupt ?? false);
    } catch (error) {
      await log.#closeHandles().catch(() => {});
      throw error;
    }
    return log;
  }

  static async #openIdentity(options: SegmentedLogOptions): Promise<Identity> {
    const path = join(options.dir, IDENTITY_FILE);
    const existing = readIdentity(options.dir);
    if (existing === undefined) {
      if (options.readOnly || options.create === false) {
        throw new RaftLedgerError('ERR_NOT_A_LOG', `${options.dir} is not a raftledger log (no ${IDENTITY_FILE})`, { path: options.dir });
      }
      if (existsSync(options.dir)) {
        const foreign = readdirSync(options.dir).filter((n) => !isLogDirEntry(n)); // [dir-lock] log, index, LOCK, dot-files
        if (foreign.length > 0) {
          throw new RaftLedgerError(
            'ERR_FOREIGN_FILE',
            `${options.dir} is not empty and is not a raftledger log (found ${foreign.slice(0, 3).join(', ')})`,
            { path: options.dir },
          );
        }
      }
      const identity: Identity = {
        format: 'raftledger',
        version: 1,
        segmentSizeBytes: options.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES,
        indexSlotsPerFile: options.indexSlotsPerFile ?? DEFAULT_INDEX_SLOTS_PER_FILE,
        createdAt: new Date().toISOString(),
        ...(options.owner !== undefined ? { owner: options.owner } : {}), // [dir-owner]
      };
      try {
        mkdirSync(join(options.dir, 'log'), { recursive: true });
        mkdirSync(join(options.dir, 'index'), { recursive: true });
      } catch (error) {
        throw fromSystemError(error, `cannot create ${options.dir}`, options.dir);
      }
      // Durable before anything else exists; a crash before it lands leaves an empty
      // directory that is simply created again on the next open.
      try {
        await native.atomicWriteFile(path, Buffer.from(JSON.stringify(identity, null, 2) + '\n'));
      } catch (error) {
        throw fromSystemError(error, `cannot create ${path}`, path);
      }
      return identity;
    }
    const identity = existing;
    if (options.segmentSizeBytes !== undefined && options.segmentSizeBytes !== identity.segmentSizeBytes) {
      throw new RaftLedgerError(
        'ERR_BAD_CONFIG',
        `segmentSizeBytes ${options.segmentSizeBytes} does not match the log in ${options.dir}, which uses ${identity.segmentSizeBytes}`,
        { path },
      );
    }
    if (options.indexSlotsPerFile !== undefined && options.indexSlotsPerFile !== identity.indexSlotsPerFile) {
      throw new RaftLedgerError('ERR_BAD_CONFIG', `indexSlotsPerFile ${options.indexSlotsPerFile} does not match the log's ${identity.indexSlotsPerFile}`, { path });
    }
    return identity;
  }

  #openSegments(): void {
    let names: string[];
    try {
      names = readdirSync(this.#logDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !this.readOnly) {
        mkdirSync(this.#logDir, { recursive: true });
        names = [];
      } else {
        throw fromSystemError(error, `cannot list ${this.#logDir}`, this.#logDir);
      }
    }
    const bases: number[] = [];
    for (const name of names) {
      const base = parseSegmentFileName(name);
      if (base === undefined || base % this.segmentSizeBytes !== 0) {
        throw new RaftLedgerError('ERR_FOREIGN_FILE', `${join(this.#logDir, name)} is not a raftledger segment of ${this.segmentSizeBytes} bytes`, {
          path: join(this.#logDir, name),
        });
      }
      bases.push(base);
    }
    bases.sort((a, b) => a - b);
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!;
      const path = join(this.#logDir, segmentFileName(base));
      if (i > 0 && base !== bases[i - 1]! + this.segmentSizeBytes) {
        throw corrupt(`segment files are not contiguous: ${segmentFileName(bases[i - 1]!)} is followed by ${segmentFileName(base)}`, path, 0);
      }
      let handle: NativeSegment;
      try {
        handle = native.openSegment(path, this.segmentSizeBytes, { readOnly: this.readOnly });
      } catch (error) {
        if ((error as { code?: string }).code === 'ERR_SEGMENT_SIZE') {
          throw new RaftLedgerError('ERR_BAD_CONFIG', `${path} is larger than the log's segment size ${this.segmentSizeBytes}`, { path, cause: error });
        }
        throw fromSystemError(error, `cannot open segment ${path}`, path);
      }
      this.#segments.push({ base, handle });
    }
  }

  // ---------------------------------------------------------------- recovery

  async #recover(truncateCorrupt: boolean): Promise<void> {
    const hard = this.meta.hardState;
    const S = this.segmentSizeBytes;
    // A segment other than the last that was cut short lost bytes in the middle of the log.
    for (let i = 0; i < this.#segments.length - 1; i++) {
      const seg = this.#segments[i]!;
      if (seg.handle.originalSizeBytes < S) {
        const err = corrupt(`segment was cut to ${seg.handle.originalSizeBytes} bytes`, seg.handle.path, seg.handle.originalSizeBytes);
        if (!truncateCorrupt) throw err;
      }
    }
    if (this.#segments.length === 0) {
      this.#firstIndex = hard.firstIndex;
      this.#lastIndex = hard.firstIndex - 1;
      this.#lastTerm = 0;
      this.#writePos = 0;
      this.#flushedIndex = this.#lastIndex;
      return;
    }
    // The first record of the first segment fixes firstIndex.
    const first = this.#segments[0]!;
    const firstScan = first.handle.scan(0, S, { segmentSizeBytes: S, maxRecords: 1 });
    const firstOnDisk = firstScan.count === 1 ? firstScan.firstIndex : undefined;
    let expectedIndex: number | undefined;
    let startPos = first.base;
    let lastTerm = 0;
    let lastIndex = 0;
    const checkpoint = this.meta.readCheckpoint();
    if (checkpoint !== undefined && checkpoint.index > 0 && this.#checkpointHolds(checkpoint)) {
      startPos = checkpoint.pos;
      expectedIndex = checkpoint.index + 1;
      lastIndex = checkpoint.index;
      lastTerm = checkpoint.term;
      this.recovery.usedCheckpoint = true;
      this.#lastCheckpoint = checkpoint;
    }
    if (firstOnDisk !== undefined) {
      // A crash between saving firstIndex and deleting old segments leaves records below it.
      this.#firstIndex = Math.max(firstOnDisk, hard.firstIndex);
      if (expectedIndex === undefined) expectedIndex = firstOnDisk;
    } else {
      this.#firstIndex = expectedIndex ?? hard.firstIndex;
    }
    if (expectedIndex === undefined) expectedIndex = hard.firstIndex;
    if (lastIndex === 0) lastIndex = expectedIndex - 1;
    this.recovery.scanFromPos = startPos;

    // Walk the tail.
    const slots = Buffer.alloc(SCAN_SLOT_CHUNK * SLOT_SIZE_BYTES);
    let pos = startPos;
    let stoppedAt: { pos: number; reason: string; segment: Segment; offset: number } | undefined;
    let segIdx = this.#segments.findIndex((s) => pos >= s.base && pos < s.base + S);
    if (segIdx < 0) {
      // A checkpoint at the very end of the last segment: nothing to scan.
      segIdx = this.#segments.length;
    }
    while (segIdx < this.#segments.length) {
      const seg = this.#segments[segIdx]!;
      const offset = pos - seg.base;
      let result: ScanResult;
      try {
        result = seg.handle.scan(offset, S, {
          expectedIndex: lastIndex + 1,
          minTerm: lastTerm,
          slotsOut: slots,
          segmentSizeBytes: S,
        });
      } catch (error) {
        throw fromSystemError(error, `cannot scan ${seg.handle.path}`, seg.handle.path);
      }
      if (result.count > 0) {
        this.#index.set(result.firstIndex, slots, result.count);
        lastIndex = result.lastIndex;
        lastTerm = result.lastTerm;
        this.recovery.scannedRecords += result.count;
      }
      this.recovery.scannedBytes += result.end - offset;
      pos = seg.base + result.end;
      if (result.stop === 'slots-full') continue;
      if (result.stop === 'padding' || result.stop === 'short' || result.stop === 'end') {
        segIdx++;
        if (segIdx < this.#segments.length) pos = this.#segments[segIdx]!.base;
        continue;
      }
      if (result.stop === 'zeros') {
        stoppedAt = { pos, reason: 'unwritten space', segment: seg, offset: result.end };
        break;
      }
      // invalid
      stoppedAt = { pos, reason: `invalid record (${result.reason ?? 'unknown'})`, segment: seg, offset: result.end };
      break;
    }

    if (stoppedAt !== undefined) {
      // Anything valid after the stop point means damage in the middle of the log. After an
      // invalid record, search everything after it; after unwritten space (the normal end of
      // a log), probe where more records would be: the index slot of the next index, the
      // next 64 KiB, and the start of every later segment.
      const isTear = stoppedAt.reason !== 'unwritten space';
      const damage = isTear
        ? this.#findValidAfter(stoppedAt.segment, stoppedAt.offset + 1)
        : this.#probeAfterEnd(stoppedAt.segment, stoppedAt.offset, lastIndex + 1);
      if (damage !== undefined) {
        const message = `${stoppedAt.reason} at pos ${stoppedAt.pos}, followed by a valid record at pos ${damage}`;
        if (!truncateCorrupt || this.readOnly) throw corrupt(message, stoppedAt.segment.handle.path, stoppedAt.offset);
        this.#notice(`truncating the log after damage: ${message}`);
      }
      if (isTear || damage !== undefined) {
        this.recovery.truncatedAtPos = stoppedAt.pos;
        this.recovery.truncatedReason = stoppedAt.reason;
        if (isTear) this.#notice(`torn tail truncated at pos ${stoppedAt.pos}: ${stoppedAt.reason}`);
      }
    }
    const writePos = stoppedAt?.pos ?? pos;
    this.#lastIndex = lastIndex;
    this.#lastTerm = lastTerm;
    this.#writePos = writePos;
    if (this.#lastIndex < this.#firstIndex - 1) this.#lastIndex = this.#firstIndex - 1;

    if (!this.readOnly) {
      // After a tear, zero everything after writePos so that no stale bytes sit after later appends.
      // The same after damage cut away with truncateCorrupt (valid records may follow it).
      if (this.recovery.truncatedAtPos !== undefined) this.#zeroFrom(writePos);
      this.#index.clearFrom(this.#lastIndex + 1);
      // What a killed process left in the page cache is made durable before we report it durable.
      this.#dirtyFrom = Math.min(startPos, writePos);
      this.#dirtyTo = Math.max(this.#dirtyTo, writePos);
      await this.#flushNow(this.#lastIndex);
      await this.#writeCheckpoint();
    } else {
      this.#flushedIndex = this.#lastIndex;
      this.#flushedPos = writePos;
    }
  }

  /** A checkpoint holds when the slot of its index points at a record ending exactly at checkpoint.pos with the same term. */
  #checkpointHolds(checkpoint: Checkpoint): boolean {
    const slot = this.#index.get(checkpoint.index);
    if (slot === undefined || slot.pos + slot.size !== checkpoint.pos || slot.term !== checkpoint.term) return false;
    const seg = this.#segmentAt(slot.pos);
    if (seg === undefined) return false;
    try {
      const bytes = seg.handle.read(slot.pos - seg.base, slot.size);
      const result = native.scanRecords(bytes, 0, bytes.byteLength, {
        basePos: slot.pos,
        segmentSizeBytes: this.segmentSizeBytes,
        expectedIndex: checkpoint.index,
      });
      return result.count === 1 && result.lastTerm === checkpoint.term;
    } catch {
      return false;
    }
  }

  /** Absolute pos of the first valid record at or after `offset` of `seg` or in any later segment. */
  #findValidAfter(seg: Segment, offset: number): number | undefined {
    const S = this.segmentSizeBytes;
    let i = this.#segments.indexOf(seg);
    let from = offset;
    for (; i < this.#segments.length; i++) {
      const s = this.#segments[i]!;
      if (from < S) {
        const found = s.handle.findValidRecord(from, S, s.base);
        if (found >= 0) return s.base + found;
      }
      from = 0;
    }
    return undefined;
  }

  #probeAfterEnd(seg: Segment, offset: number, nextIndex: number): number | undefined {
    const S = this.segmentSizeBytes;
    const slot = this.#index.get(nextIndex);
    if (slot !== undefined && slot.pos > seg.base + offset) {
      const at = this.#segmentAt(slot.pos);
      if (at !== undefined && slot.pos - at.base < S) {
        const r = at.handle.scan(slot.pos - at.base, S, { expectedIndex: nextIndex, segmentSizeBytes: S, maxRecords: 1 });
        if (r.count === 1) return slot.pos;
      }
    }
    const windowEnd = Math.min(S, offset + 65536);
    if (offset + 1 < windowEnd) {
      const found = seg.handle.findValidRecord(offset + 1, windowEnd, seg.base);
      if (found >= 0) return seg.base + found;
    }
    for (let i = this.#segments.indexOf(seg) + 1; i < this.#segments.length; i++) {
      const later = this.#segments[i]!;
      const r = later.handle.scan(0, S, { segmentSizeBytes: S, maxRecords: 1 });
      if (r.count === 1) return later.base;
    }
    return undefined;
  }

  #headerAt(seg: Segment, offset: number): ReturnType<typeof readHeader> | undefined {
    if (offset + HEADER_SIZE_BYTES > this.segmentSizeBytes) return undefined;
    const bytes = seg.handle.read(offset, HEADER_SIZE_BYTES);
    const view = dataViewOf(bytes);
    if (view.getUint32(RecordOffset.magic, true) === 0) return undefined;
    return readHeader(view, 0);
  }

  /** Zero [pos, end of every segment) in the mapping; later segments stay as zeroed spares. */
  #zeroFrom(pos: number): void {
    const S = this.segmentSizeBytes;
    for (let i = this.#segments.length - 1; i >= 0; i--) {
      const seg = this.#segments[i]!;
      if (seg.base + S <= pos) break;
      const from = Math.max(pos, seg.base) - seg.base;
      seg.handle.zero(from, S - from);
      this.#dirtyFrom = Math.min(this.#dirtyFrom, seg.base + from);
      this.#dirtyTo = Math.max(this.#dirtyTo, seg.base + S);
    }
  }

  // ---------------------------------------------------------------- accessors

  get firstIndex(): number {
    return this.#firstIndex;
  }
  get lastIndex(): number {
    return this.#lastIndex;
  }
  get lastTerm(): number {
    return this.#lastTerm;
  }
  /** Absolute position where the next record goes (before any roll). */
  get writePos(): number {
    return this.#writePos;
  }
  /** Highest index known durable on disk. */
  get flushedIndex(): number {
    return this.#flushedIndex;
  }
  get flushedPos(): number {
    return this.#flushedPos;
  }
  get closed(): boolean {
    return this.#closed;
  }
  get failed(): RaftLedgerError | undefined {
    return this.#failed;
  }
  get segmentCount(): number {
    return this.#segments.length;
  }
  /** Bytes between the first segment's start and the write position. */
  get sizeBytes(): number {
    return this.#segments.length === 0 ? 0 : this.#writePos - this.#segments[0]!.base;
  }
  get hardState(): Readonly<MetaState> {
    return this.meta.hardState;
  }

  segments(): Array<{ path: string; base: number; sizeBytes: number }> {
    return this.#segments.map((s) => ({ path: s.handle.path, base: s.base, sizeBytes: this.segmentSizeBytes }));
  }

  #checkWritable(): void {
    if (this.#closed) throw new RaftLedgerError('ERR_CLOSED', 'the log is closed');
    if (this.readOnly) throw new RaftLedgerError('ERR_ACCESS', 'the log was opened read-only');
    if (this.#failed !== undefined) {
      throw new RaftLedgerError('ERR_LOG_FAILED', `the log refuses appends after a failed flush: ${this.#failed.message}`, { cause: this.#failed });
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new RaftLedgerError('ERR_CLOSED', 'the log is closed');
  }

  // ---------------------------------------------------------------- placement

  #segmentAt(pos: number): Segment | undefined {
    if (this.#segments.length === 0) return undefined;
    const i = Math.floor((pos - this.#segments[0]!.base) / this.segmentSizeBytes);
    return i >= 0 && i < this.#segments.length ? this.#segments[i] : undefined;
  }

  /** Where a record of `size` bytes goes when the previous record ended at `pos`. */
  #place(pos: number, size: number): number {
    const S = this.segmentSizeBytes;
    const within = pos % S;
    return within + size <= S ? pos : pos - within + S;
  }

  /** Make sure segments exist for every byte in [pos, end); creates them (throws ERR_NO_SPACE before any write). */
  #ensureSegments(end: number): void {
    const S = this.segmentSizeBytes;
    let nextBase = this.#segments.length === 0 ? this.#writePos - (this.#writePos % S) : this.#segments[this.#segments.length - 1]!.base + S;
    while (nextBase < end) {
      this.#createSegment(nextBase);
      nextBase += S;
    }
  }

  #createSegment(base: number): Segment {
    const path = join(this.#logDir, segmentFileName(base));
    let handle: NativeSegment;
    try {
      handle = native.createSegment(path, this.segmentSizeBytes);
    } catch (error) {
      throw fromSystemError(error, `cannot create segment ${path}`, path);
    }
    const seg = { base, handle };
    this.#segments.push(seg);
    // Fault pages in ahead of the writer on the addon's thread (safe while it writes: adds zero).
    if (this.#preallocate) this.#track(handle.prefault());
    this.#track(native.syncDirectory(this.#logDir));
    return seg;
  }

  /** Pre-create and prefault the segment after the one holding `pos` once that one is half full. */
  #maybePreallocate(): void {
    if (!this.#preallocate || this.#segments.length === 0) return;
    const S = this.segmentSizeBytes;
    const last = this.#segments[this.#segments.length - 1]!;
    if (this.#writePos - last.base < S / 2) return;
    try {
      this.#createSegment(last.base + S);
    } catch (error) {
      // Not fatal here: the append that needs the segment will report it.
      this.#notice(`could not preallocate the next segment: ${(error as Error).message}`);
    }
  }

  #track(promise: Promise<unknown>): void {
    const p = promise.catch(() => {}).finally(() => this.#background.delete(p));
    this.#background.add(p);
  }

  #writePadding(pos: number, upTo: number): void {
    const seg = this.#segmentAt(pos);
    if (seg === undefined) return;
    const remaining = upTo - pos;
    if (remaining < HEADER_SIZE_BYTES) return; // already zeros
    const header = Buffer.alloc(HEADER_SIZE_BYTES);
    const view = dataViewOf(header);
    writeHeader(view, 0, RecordType.Padding, 0, 0, 0, pos, remaining);
    view.setUint32(RecordOffset.crc, native.crc32c(header.subarray(0, 44)), true);
    seg.handle.write(pos - seg.base, header);
  }

  // ---------------------------------------------------------------- appends

  /**
   * Copy record k (bytes[offsets[k], offsets[k] + sizes[k])) to positions[k]. A padding
   * record fills the rest of a segment before a record that starts the next one; records
   * back to back both in `bytes` and on disk, within one segment, go in one write.
   */
  #writeRecords(bytes: Uint8Array, offsets: readonly number[], positions: readonly number[], sizes: readonly number[]): void {
    let cursor = this.#writePos;
    for (let i = 0; i < positions.length; ) {
      const start = positions[i]!;
      if (start !== cursor) this.#writePadding(cursor, start);
      const seg = this.#segmentAt(start)!;
      const segEnd = seg.base + this.segmentSizeBytes;
      let end = start + sizes[i]!;
      let j = i + 1;
      while (j < positions.length && positions[j] === end && offsets[j] === offsets[i]! + (end - start) && end + sizes[j]! <= segEnd) {
        end += sizes[j]!;
        j++;
      }
      seg.handle.write(start - seg.base, bytes.subarray(offsets[i]!, offsets[i]! + (end - start)));
      cursor = end;
      i = j;
    }
  }

  /** Bookkeeping after `count` records from firstIndex were written, ending at endPos. */
  #appended(firstIndex: number, slots: Uint8Array, count: number, endPos: number, lastTerm: number): void {
    this.#index.set(firstIndex, slots, count);
    this.#dirtyFrom = Math.min(this.#dirtyFrom, this.#writePos);
    this.#writePos = endPos;
    this.#dirtyTo = Math.max(this.#dirtyTo, endPos);
    this.#lastIndex = firstIndex + count - 1;
    this.#lastTerm = lastTerm;
    this.#maybePreallocate();
  }

  /**
   * Append entries as the leader (or a standalone log): encode, checksum and place them.
   * Atomic with respect to validation and space: nothing is written if any entry is too
   * large, out of order, or a segment cannot be created.
   */
  appendEntries(entries: readonly AppendInput[], keepRecords = true): AppendResult {
    this.#checkWritable();
    const count = entries.length;
    if (count === 0) return { firstIndex: this.#lastIndex + 1, positions: [], records: [] };
    const positions = new Array<number>(count);
    let totalBytes = 0;
    let pos = this.#writePos;
    let term = this.#lastTerm;
    const firstIndex = this.#lastIndex + 1;
    for (let i = 0; i < count; i++) {
      const e = entries[i]!;
      if (e === null || typeof e !== 'object' || !(e.data instanceof Uint8Array)) {
        throw new TypeError(`appendEntries: entry ${i} must be { term, data: Uint8Array }`);
      }
      if (e.data.byteLength > this.maxEntrySizeBytes) {
        throw new RaftLedgerError('ERR_ENTRY_TOO_LARGE', `entry of ${e.data.byteLength} bytes exceeds maxEntrySizeBytes ${this.maxEntrySizeBytes}`);
      }
      if (e.index !== undefined && e.index !== firstIndex + i) {
        throw new RangeError(`appendEntries: entry ${i} has index ${e.index}, expected ${firstIndex + i}`);
      }
      if (!Number.isSafeInteger(e.term) || e.term < term) {
        throw new RangeError(`appendEntries: entry ${i} has term ${e.term}, below the previous term ${term}`);
      }
      term = e.term;
      const size = HEADER_SIZE_BYTES + e.data.byteLength;
      pos = this.#place(pos, size);
      positions[i] = pos;
      pos += size;
      totalBytes += size;
    }
    this.#ensureSegments(pos);

    // Records handed back to the caller need their own buffer; otherwise reuse a scratch
    // buffer (a fresh multi-megabyte allocation per batch costs a page fault per 4 KiB).
    let buffer: Buffer;
    if (keepRecords) buffer = Buffer.allocUnsafe(totalBytes);
    else {
      if (this.#scratch.byteLength < totalBytes) this.#scratch = Buffer.allocUnsafeSlow(Math.max(totalBytes, 2 * this.#scratch.byteLength));
      buffer = this.#scratch.subarray(0, totalBytes);
    }
    const view = dataViewOf(buffer);
    const records: Uint8Array[] = keepRecords ? new Array<Uint8Array>(count) : [];
    const slots = Buffer.allocUnsafe(count * SLOT_SIZE_BYTES);
    const slotView = dataViewOf(slots);
    const offsets = new Array<number>(count);
    const sizes = new Array<number>(count);
    let offset = 0;
    for (let i = 0; i < count; i++) {
      const e = entries[i]!;
      const size = HEADER_SIZE_BYTES + e.data.byteLength;
      writeHeader(view, offset, e.type ?? RecordType.Normal, e.data.byteLength, firstIndex + i, e.term, positions[i]!);
      buffer.set(e.data, offset + HEADER_SIZE_BYTES);
      offsets[i] = offset;
      sizes[i] = size;
      offset += size;
    }
    native.sealRecords(buffer, 0, totalBytes);
    for (let k = 0; k < count; k++) {
      const at = offsets[k]!;
      writeSlot(slotView, k * SLOT_SIZE_BYTES, { pos: positions[k]!, term: entries[k]!.term, size: sizes[k]!, crc: view.getUint32(at + RecordOffset.crc, true) });
      if (keepRecords) records[k] = buffer.subarray(at, at + sizes[k]!);
    }
    this.#writeRecords(buffer, offsets, positions, sizes);
    this.#appended(firstIndex, slots, count, pos, term);
    return { firstIndex, positions, records };
  }

  /** Convenience for standalone use: append payloads in `term`; returns { index, pos } per payload. */
  append(payloads: Uint8Array | readonly Uint8Array[], term = Math.max(this.#lastTerm, 1), type: RecordType = RecordType.Normal): Array<{ index: number; pos: number }> {
    const list = payloads instanceof Uint8Array ? [payloads] : payloads;
    if (!Array.isArray(list)) throw new TypeError('append: payloads must be a Uint8Array or an array of them');
    const result = this.appendEntries(list.map((data) => ({ term, type, data })), false);
    return result.positions.map((pos, i) => ({ index: result.firstIndex + i, pos }));
  }

  /**
   * Append records received from the leader, verbatim: each must carry a valid CRC, the
   * next index, a term no lower than the last, and the pos this log would place it at.
   * `records` holds one or more records packed back to back.
   */
  appendRecords(records: Uint8Array, options: { crcChecked?: boolean } = {}): { firstIndex: number; lastIndex: number } {
    this.#checkWritable();
    if (!(records instanceof Uint8Array)) throw new TypeError('appendRecords: records must be a Uint8Array');
    if (records.byteLength === 0) return { firstIndex: this.#lastIndex + 1, lastIndex: this.#lastIndex };
    const slots = Buffer.allocUnsafe(Math.ceil(records.byteLength / HEADER_SIZE_BYTES) * SLOT_SIZE_BYTES);
    const scan =
      options.crcChecked === true
        ? slotsOfCheckedRecords(records, this.#lastIndex + 1, this.#lastTerm, slots)
        : native.scanRecords(records, 0, records.byteLength, {
            expectedIndex: this.#lastIndex + 1,
            minTerm: this.#lastTerm,
            slotsOut: slots,
          });
    if (scan.stop !== 'end' || scan.end !== records.byteLength) {
      throw new RaftLedgerError(
        'ERR_LOG_CORRUPT',
        `received records are invalid at byte ${scan.invalidOffset ?? scan.end}: ${scan.reason ?? scan.stop}`,
        { offset: scan.invalidOffset ?? scan.end },
      );
    }
    const view = dataViewOf(records);
    // Check placement before writing anything.
    let pos = this.#writePos;
    const offsets: number[] = [];
    const positions: number[] = [];
    const sizes: number[] = [];
    for (let offset = 0; offset < records.byteLength; ) {
      const size = view.getUint32(offset + RecordOffset.totalSize, true);
      const expected = this.#place(pos, size);
      const actual = readU64(view, offset + RecordOffset.pos);
      if (actual !== expected) {
        throw new RaftLedgerError(
          'ERR_PROTOCOL',
          `received record ${this.#lastIndex + 1 + offsets.length} at pos ${actual}, but this log places it at ${expected} (do the replicas use the same segment size?)`,
          { offset: actual },
        );
      }
      if (size - HEADER_SIZE_BYTES > this.maxEntrySizeBytes) {
        throw new RaftLedgerError('ERR_ENTRY_TOO_LARGE', `received entry of ${size - HEADER_SIZE_BYTES} bytes exceeds maxEntrySizeBytes`);
      }
      offsets.push(offset);
      positions.push(expected);
      sizes.push(size);
      pos = expected + size;
      offset += size;
    }
    this.#ensureSegments(pos);
    const firstIndex = this.#lastIndex + 1;
    this.#writeRecords(records, offsets, positions, sizes);
    this.#appended(firstIndex, slots, scan.count, pos, scan.lastTerm);
    return { firstIndex, lastIndex: scan.lastIndex };
  }

  // ---------------------------------------------------------------- reads

  #checkReadable(index: number): void {
    this.#checkOpen();
    if (!Number.isSafeInteger(index)) throw new TypeError(`index must be a safe integer, got ${String(index)}`);
    if (index < this.#firstIndex) {
      throw new RaftLedgerError('ERR_COMPACTED', `index ${index} is below the first retained index ${this.#firstIndex}`);
    }
    if (index > this.#lastIndex) {
      throw new RaftLedgerError('ERR_OUT_OF_RANGE', `index ${index} is past the last index ${this.#lastIndex}`);
    }
  }

  /** The slot of `index`, checked against the record header it points at; rebuilds the index once on disagreement. */
  #slot(index: number): IndexSlot {
    let slot = this.#index.get(index);
    if (slot === undefined || !this.#slotMatches(index, slot)) {
      this.#rebuildIndex(`slot of index ${index} disagrees with the data`);
      slot = this.#index.get(index);
      if (slot === undefined || !this.#slotMatches(index, slot)) {
        const where = this.#index.locate(index);
        throw corrupt(`no valid record for index ${index}`, where.path, where.offset);
      }
    }
    return slot;
  }

  #slotMatches(index: number, slot: IndexSlot): boolean {
    const seg = this.#segmentAt(slot.pos);
    if (seg === undefined || slot.pos - seg.base + slot.size > this.segmentSizeBytes || slot.size < HEADER_SIZE_BYTES) return false;
    const header = this.#headerAt(seg, slot.pos - seg.base);
    return (
      header !== undefined &&
      header.index === index &&
      header.term === slot.term &&
      header.totalSize === slot.size &&
      header.pos === slot.pos &&
      header.crc === slot.crc
    );
  }

  /** Rebuild every slot from the data segments (rare: after index damage). */
  #rebuildIndex(why: string): void {
    this.#notice(`rebuilding the index: ${why}`);
    this.recovery.indexRebuilt = true;
    const S = this.segmentSizeBytes;
    const slots = Buffer.alloc(SCAN_SLOT_CHUNK * SLOT_SIZE_BYTES);
    let expected = this.#firstIndex;
    for (const seg of this.#segments) {
      let offset = 0;
      const limit = Math.min(S, this.#writePos - seg.base);
      while (offset < limit) {
        const r = seg.handle.scan(offset, limit, { expectedIndex: expected, slotsOut: slots, segmentSizeBytes: S });
        if (r.count > 0) {
          this.#index.set(r.firstIndex, slots, r.count);
          expected = r.lastIndex + 1;
        }
        if (r.stop === 'slots-full') {
          offset = r.end;
          continue;
        }
        if (r.stop === 'invalid') throw corrupt(`invalid record (${r.reason ?? 'unknown'}) while rebuilding the index`, seg.handle.path, r.invalidOffset ?? r.end);
        break;
      }
    }
  }

  /** Term of `index`; 0 for index 0. Throws ERR_COMPACTED / ERR_OUT_OF_RANGE outside the log. */
  term(index: number): number {
    if (index === 0) return 0;
    if (index === this.#firstIndex - 1) return this.meta.hardState.prevTerm;
    if (index === this.#lastIndex) return this.#lastTerm;
    this.#checkReadable(index);
    return this.#slot(index).term;
  }

  /** Absolute position of the record of `index`. */
  posOf(index: number): number {
    this.#checkReadable(index);
    return this.#slot(index).pos;
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
    this.#checkReadable(from);
    if (!Number.isSafeInteger(to) || to <= from) throw new RangeError(`readRange: to (${to}) must be greater than from (${from})`);
    const end = Math.min(to, this.#lastIndex + 1);
    const out: LogEntry[] = [];
    let bytes = 0;
    let index = from;
    while (index < end) {
      const first = this.#slot(index);
      const seg = this.#segmentAt(first.pos)!;
      // Gather the run of following indexes that sit back to back in the same segment.
      let runEnd = first.pos + first.size;
      let next = index + 1;
      bytes += first.size;
      while (next < end && bytes < maxBytes) {
        const slot = this.#index.get(next);
        if (slot === undefined || slot.pos !== runEnd || runEnd + slot.size > seg.base + this.segmentSizeBytes) break;
        runEnd += slot.size;
        bytes += slot.size;
        next++;
      }
      const buffer = seg.handle.read(first.pos - seg.base, runEnd - first.pos);
      const check = native.scanRecords(buffer, 0, buffer.byteLength, {
        basePos: first.pos,
        segmentSizeBytes: this.segmentSizeBytes,
        expectedIndex: index,
      });
      if (check.stop !== 'end' || check.count !== next - index) {
        const badPos = first.pos + (check.invalidOffset ?? check.end);
        if (check.count === 0) throw corrupt(`record of index ${index} is damaged (${check.reason ?? check.stop})`, seg.handle.path, badPos - seg.base);
        next = index + check.count; // return what is intact; the next call reports the damage
      }
      const view = dataViewOf(buffer);
      let offset = 0;
      for (let i = index; i < next; i++) {
        const header = readHeader(view, offset);
        const record = buffer.subarray(offset, offset + header.totalSize);
        out.push({
          index: i,
          term: header.term,
          type: header.type,
          pos: header.pos,
          data: record.subarray(HEADER_SIZE_BYTES),
          record,
        });
        offset += header.totalSize;
      }
      index = next;
      if (bytes >= maxBytes) break;
    }
    return out;
  }

  /** Iterate entries from `from` to the current last index, in chunks. */
  *entries(from = this.#firstIndex, chunkBytes = 4 * 1024 * 1024): Generator<LogEntry> {
    let index = Math.max(from, this.#firstIndex);
    while (index <= this.#lastIndex) {
      const chunk = this.readRange(index, this.#lastIndex + 1, chunkBytes);
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
    try {
      this.#checkWritable();
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#flushedIndex >= this.#lastIndex && this.#dirtyTo <= this.#flushedPos && this.#truncations.length === 0) {
      return Promise.resolve(this.#flushedIndex);
    }
    return new Promise<number>((resolve, reject) => {
      if (this.#flushRunning === undefined) {
        this.#flushWaiters.push({ resolve, reject });
        this.#flushRunning = this.#runFlushes();
      } else {
        this.#nextFlushWaiters.push({ resolve, reject });
        this.#flushAgain = true;
      }
    });
  }

  async #runFlushes(): Promise<void> {
    for (;;) {
      const waiters = this.#flushWaiters;
      this.#flushWaiters = [];
      try {
        const index = await this.#flushNow(this.#lastIndex);
        for (const w of waiters) w.resolve(index);
        this.#maybeCheckpoint();
      } catch (error) {
        for (const w of waiters) w.reject(error);
        for (const w of this.#nextFlushWaiters) w.reject(error);
        this.#nextFlushWaiters = [];
        this.#flushAgain = false;
      }
      if (!this.#flushAgain) break;
      this.#flushAgain = false;
      this.#flushWaiters = this.#nextFlushWaiters;
      this.#nextFlushWaiters = [];
    }
    this.#flushRunning = undefined;
  }

  /** msync every dirty range now; returns the new flushedIndex. */
  async #flushNow(targetIndex: number): Promise<number> {
    if (this.#failed !== undefined) throw this.#failed;
    while (this.#truncations.length > 0) await Promise.all(this.#truncations.splice(0));
    const targetPos = this.#writePos;
    const from = Math.min(this.#dirtyFrom, this.#flushedPos);
    const to = Math.max(this.#dirtyTo, targetPos);
    this.#dirtyFrom = Number.POSITIVE_INFINITY;
    this.#dirtyTo = 0;
    await this.#flushRange(from, to, 'flush failed');
    // Entries truncated away while this flush ran must not count as flushed.
    const index = Math.min(targetIndex, this.#lastIndex);
    if (index > this.#flushedIndex || targetPos !== this.#flushedPos) {
      this.#flushedIndex = Math.max(Math.min(this.#flushedIndex, this.#lastIndex), index);
      this.#flushedPos = Math.min(targetPos, this.#writePos);
    }
    // TEST-ONLY (fault injection, src/check/disk.ts): record how far the data is durable, so
    // a simulated power loss can drop everything after it. Unset in production: no effect.
    if (FSYNC_JOURNAL !== undefined) appendFileSync(FSYNC_JOURNAL, `${this.dir}\t${this.#flushedPos}\n`);
    return this.#flushedIndex;
  }

  /** msync [from, to) of every segment it touches; a failure latches the log (ERR_LOG_FAILED on later writes). */
  async #flushRange(from: number, to: number, what: string): Promise<void> {
    const S = this.segmentSizeBytes;
    const work: Promise<void>[] = [];
    for (const seg of this.#segments) {
      const a = Math.max(from, seg.base);
      const b = Math.min(to, seg.base + S);
      if (a < b) work.push(seg.handle.flush(a - seg.base, b - a));
    }
    try {
      await Promise.all(work);
    } catch (error) {
      const wrapped = fromSystemError(error, what);
      this.#failed = wrapped instanceof RaftLedgerError ? wrapped : new RaftLedgerError('ERR_IO', `${what}: ${String(error)}`, { cause: error });
      throw this.#failed;
    }
  }

  #maybeCheckpoint(): void {
    if (this.#checkpointRunning !== undefined || this.#closed) return;
    if (this.#lastCheckpoint?.index === this.#flushedIndex) return;
    if (Date.now() - this.#lastCheckpointAtMs < this.#checkpointIntervalMs) return;
    this.#checkpointRunning = this.#writeCheckpoint()
      .catch((error) => this.#notice(`checkpoint failed: ${(error as Error).message}`))
      .finally(() => {
        this.#checkpointRunning = undefined;
      });
  }

  /** Make the index durable up to flushedIndex, then record the checkpoint. */
  async #writeCheckpoint(): Promise<void> {
    const index = this.#flushedIndex;
    if (index < this.#firstIndex) return;
    const slot = this.#index.get(index);
    if (slot === undefined) return;
    const from = Math.max(this.#firstIndex, (this.#lastCheckpoint?.index ?? 0) + 1);
    await this.#index.flush(Math.min(from, index), index);
    // A truncation below index while we waited would make this checkpoint wrong.
    if (index > this.#lastIndex || this.#index.get(index)?.pos !== slot.pos) return;
    const checkpoint = { index, pos: slot.pos + slot.size, term: slot.term };
    await this.meta.saveCheckpoint(checkpoint);
    this.#lastCheckpoint = checkpoint;
    this.#lastCheckpointAtMs = Date.now();
  }

  // ---------------------------------------------------------------- truncation

  /**
   * Remove entries [fromIndex, lastIndex] (a follower's conflicting suffix). Takes
   * effect at once for reads and appends; the removal is durable before the next
   * flush() resolves, and before the returned promise resolves.
   */
  truncateSuffix(fromIndex: number): Promise<void> {
    this.#checkWritable();
    if (!Number.isSafeInteger(fromIndex)) throw new TypeError('truncateSuffix: fromIndex must be a safe integer');
    if (fromIndex > this.#lastIndex) return Promise.resolve();
    if (fromIndex < this.#firstIndex) {
      throw new RaftLedgerError('ERR_COMPACTED', `truncateSuffix(${fromIndex}) is below the first index ${this.#firstIndex}`);
    }
    const slot = this.#slot(fromIndex);
    const newLastTerm = fromIndex - 1 >= this.#firstIndex ? this.#slot(fromIndex - 1).term : 0;
    const newWritePos = slot.pos;
    this.#zeroFrom(newWritePos);
    this.#index.clearFrom(fromIndex);
    this.#writePos = newWritePos;
    this.#lastIndex = fromIndex - 1;
    this.#lastTerm = newLastTerm;
    if (this.#flushedIndex > this.#lastIndex) {
      this.#flushedIndex = this.#lastIndex;
      this.#flushedPos = Math.min(this.#flushedPos, newWritePos);
    }
    if (this.#lastCheckpoint !== undefined && this.#lastCheckpoint.index > this.#lastIndex) {
      this.#lastCheckpoint = undefined;
      this.#lastCheckpointAtMs = 0;
    }
    const durable = this.#flushRange(this.#dirtyFrom, this.#dirtyTo, 'flush of a truncation failed');
    this.#truncations.push(durable);
    return durable;
  }

  /**
   * Retention: delete whole segments (and index files) whose every entry is below
   * `beforeIndex`. The active segment is never deleted. Returns the new firstIndex.
   */
  async truncatePrefix(beforeIndex: number): Promise<number> {
    this.#checkWritable();
    if (!Number.isSafeInteger(beforeIndex)) throw new TypeError('truncatePrefix: beforeIndex must be a safe integer');
    const limit = Math.min(beforeIndex, this.#lastIndex + 1);
    let drop = 0;
    let newFirst = this.#firstIndex;
    // Segment k can go when segment k+1 starts with an index <= limit.
    while (drop + 1 < this.#segments.length) {
      const next = this.#segments[drop + 1]!;
      if (next.base >= this.#writePos) break;
      const header = this.#headerAt(next, 0);
      if (header === undefined || header.type === RecordType.Padding || header.index > limit) break;
      newFirst = header.index;
      drop++;
    }
    if (drop === 0) return this.#firstIndex;
    await this.meta.save({ firstIndex: newFirst, prevTerm: this.#slot(newFirst - 1).term });
    const removed = this.#segments.splice(0, drop);
    this.#firstIndex = newFirst;
    for (const seg of removed) {
      try {
        unlinkSync(seg.handle.path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(error, `cannot delete ${seg.handle.path}`, seg.handle.path);
      }
      this.#track(seg.handle.close());
    }
    this.#index.dropBefore(newFirst);
    await native.syncDirectory(this.#logDir);
    return newFirst;
  }

  /**
   * Apply a retention policy: drop the oldest segments while the log is larger than
   * maxBytes or a segment is older than maxAgeMs, never dropping an index >= keepFromIndex.
   */
  async applyRetention(policy: { maxBytes?: number; maxAgeMs?: number; keepFromIndex: number; nowMs?: number }): Promise<number> {
    this.#checkWritable();
    const now = policy.nowMs ?? Date.now();
    let drop = 0;
    let size = this.sizeBytes;
    const S = this.segmentSizeBytes;
    for (let k = 0; k + 1 < this.#segments.length; k++) {
      const seg = this.#segments[k]!;
      const next = this.#segments[k + 1]!;
      if (next.base >= this.#writePos) break;
      const header = this.#headerAt(next, 0);
      if (header === undefined || header.index > policy.keepFromIndex) break;
      const tooBig = policy.maxBytes !== undefined && size > policy.maxBytes;
      let tooOld = false;
      if (policy.maxAgeMs !== undefined) {
        try {
          tooOld = now - statSync(seg.handle.path).mtimeMs > policy.maxAgeMs;
        } catch {
          tooOld = false;
        }
      }
      if (!tooBig && !tooOld) break;
      drop = k + 1;
      size -= S;
    }
    if (drop === 0) return this.#firstIndex;
    const header = this.#headerAt(this.#segments[drop]!, 0)!;
    return this.truncatePrefix(header.index);
  }

  // ---------------------------------------------------------------- close

  /** Flush, checkpoint and unmap. Idempotent; waits for in-flight work. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closing = (async () => {
      if (!this.readOnly && this.#failed === undefined) {
        try {
          await this.flush();
          if (this.#flushRunning !== undefined) await this.#flushRunning;
          await this.#checkpointRunning;
          if (this.#lastCheckpoint?.index !== this.#flushedIndex) await this.#writeCheckpoint();
        } catch (error) {
          this.#notice(`close: final flush failed: ${(error as Error).message}`);
        }
      }
      this.#closed = true;
      await this.#closeHandles();
    })();
    return this.#closing;
  }

  async #closeHandles(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#background]);
    const segments = this.#segments.splice(0);
    await Promise.allSettled([...segments.map((s) => s.handle.close()), this.#index.close(), this.meta.close()]);
    this.#dirLock?.release(); // [dir-lock] last: nothing of this open touches the directory afterwards
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * The structural part of a scan, in JavaScript, for records whose CRCs the caller has
 * already checked (validateRecords on arrival): magic, version, type, sizes, index
 * continuity and term order; fills the index slots.
 */
function slotsOfCheckedRecords(records: Uint8Array, expectedIndex: number, minTerm: number, slots: Buffer): ScanResult {
  const view = dataViewOf(records);
  const slotView = dataViewOf(slots);
  let offset = 0;
  let count = 0;
  let index = expectedIndex;
  let term = minTerm;
  let bodyBytes = 0;
  const result = (stop: ScanResult['stop'], reason?: ScanResult['reason']): ScanResult => ({
    end: offset,
    count,
    firstIndex: count > 0 ? expectedIndex : 0,
    lastIndex: count > 0 ? index - 1 : 0,
    lastTerm: count > 0 ? term : 0,
    bodyBytes,
    stop,
    ...(reason !== undefined ? { reason, invalidOffset: offset } : {}),
  });
  while (offset < records.byteLength) {
    if (records.byteLength - offset < HEADER_SIZE_BYTES) return result('invalid', 'size');
    if (view.getUint32(offset + RecordOffset.magic, true) !== RECORD_MAGIC) return result('invalid', 'magic');
    if (view.getUint8(offset + RecordOffset.version) !== FORMAT_VERSION) return result('invalid', 'version');
    const type = view.getUint8(offset + RecordOffset.type);
    if (type < RecordType.Normal || type > RecordType.Config) return result('invalid', 'type');
    const total = view.getUint32(offset + RecordOffset.totalSize, true);
    const body = view.getUint32(offset + RecordOffset.bodySize, true);
    if (total !== HEADER_SIZE_BYTES + body || offset + total > records.byteLength) return result('invalid', 'size');
    const recIndex = readU64(view, offset + RecordOffset.index);
    const recTerm = readU64(view, offset + RecordOffset.term);
    if (recIndex !== index) return result('invalid', 'index');
    if (recTerm < term) return result('invalid', 'term');
    const s = count * SLOT_SIZE_BYTES;
    writeSlot(slotView, s, { pos: readU64(view, offset + RecordOffset.pos), term: recTerm, size: total, crc: view.getUint32(offset + RecordOffset.crc, true) });
    term = recTerm;
    index++;
    count++;
    bodyBytes += body;
    offset += total;
  }
  return result('end');
}
