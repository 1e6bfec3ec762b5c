/**
 * The state of one open SegmentedLog, shared by the modules of this folder (each one job:
 * open, segments, recovery, append, read, flush, retention). SegmentedLog
 * (../segmented-log.ts) owns one LogState privately and is the only public way in; the
 * fields are plain so that the job modules can share them, and nothing outside
 * src/storage/log/ and the facade may touch them.
 *
 * Invariants kept by the job modules together:
 *  - firstIndex <= lastIndex + 1; flushedIndex <= lastIndex; flushedPos <= writePos;
 *  - segments are contiguous, sorted by base, each segmentSizeBytes long;
 *  - [dirtyFrom, dirtyTo) covers every byte changed since the last flush started;
 *  - `failed` latches: once set, appends and flushes refuse (ERR_LOG_FAILED).
 */
import type { DirLock } from '../dir-lock.js';
import { join } from 'node:path';
import { RaftLedgerError } from '../../errors.js';
import type { NativeSegment } from '../native.js';
import { HEADER_SIZE_BYTES, MAX_ENTRY_SIZE_LIMIT_BYTES } from '../format.js';
import { LogIndex } from '../log-index.js';
import type { Identity } from '../identity.js';
import type { Checkpoint, MetaStore } from '../meta-store.js';
import type { OnFlushed, RecoveryReport, SegmentedLogOptions } from './types.js';
import type { DamagedRecord } from './damage.js';

/** Index slots gathered per native scan call (recovery, index rebuild). */
export const SCAN_SLOT_CHUNK = 65536;

export interface Segment {
  base: number;
  handle: NativeSegment;
}

export interface FlushWaiter {
  resolve: (index: number) => void;
  reject: (error: unknown) => void;
}

export function checkPositiveInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

export function corrupt(message: string, path: string, offset: number, cause?: unknown): RaftLedgerError {
  return new RaftLedgerError('ERR_LOG_CORRUPT', `${message} (${path} at offset ${offset})`, {
    path,
    offset,
    ...(cause !== undefined ? { cause } : {}),
  });
}

export class LogState {
  readonly dir: string;
  readonly segmentSizeBytes: number;
  readonly maxEntrySizeBytes: number;
  readonly readOnly: boolean;
  readonly meta: MetaStore;
  readonly recovery: RecoveryReport;

  readonly logDir: string;
  readonly index: LogIndex;
  readonly segments: Segment[] = [];
  readonly checkpointIntervalMs: number;
  readonly preallocate: boolean;
  readonly notice: (message: string) => void;
  readonly onFlushed: OnFlushed | undefined;

  firstIndex = 1;
  lastIndex = 0;
  lastTerm = 0;
  writePos = 0;

  flushedIndex = 0;
  flushedPos = 0;
  /** Lowest / highest absolute positions modified since the last flush started. */
  dirtyFrom = Number.POSITIVE_INFINITY;
  dirtyTo = 0;
  flushRunning: Promise<void> | undefined;
  flushAgain = false;
  flushWaiters: FlushWaiter[] = [];
  nextFlushWaiters: FlushWaiter[] = [];
  failed: RaftLedgerError | undefined;
  truncations: Promise<void>[] = [];
  lastCheckpoint: Checkpoint | undefined;
  lastCheckpointAtMs = 0;
  checkpointRunning: Promise<void> | undefined;
  background = new Set<Promise<unknown>>();
  closed = false;
  closing: Promise<void> | undefined;
  /** The directory lock (dir-lock.ts), held from open to close unless readOnly. */
  dirLock: DirLock | undefined;
  scratch: Buffer = Buffer.allocUnsafeSlow(64 * 1024);
  /** Records known damaged and not yet written back (damage.ts), sorted by index; reads of them fail with ERR_LOG_DAMAGED. */
  damaged: DamagedRecord[] = [];

  constructor(options: SegmentedLogOptions, identity: Identity, meta: MetaStore) {
    this.dir = options.dir;
    this.readOnly = options.readOnly ?? false;
    this.segmentSizeBytes = identity.segmentSizeBytes;
    const maxEntryDefault = Math.min(identity.segmentSizeBytes - HEADER_SIZE_BYTES, MAX_ENTRY_SIZE_LIMIT_BYTES);
    this.maxEntrySizeBytes =
      options.maxEntrySizeBytes === undefined
        ? maxEntryDefault
        : checkPositiveInteger('maxEntrySizeBytes', options.maxEntrySizeBytes, 1, maxEntryDefault);
    this.checkpointIntervalMs =
      options.checkpointIntervalMs === undefined ? 1000 : checkPositiveInteger('checkpointIntervalMs', options.checkpointIntervalMs, 0, 86_400_000);
    this.preallocate = options.preallocate ?? true;
    this.notice = options.onNotice ?? (() => {});
    this.onFlushed = options.onFlushed;
    this.meta = meta;
    this.logDir = join(options.dir, 'log');
    this.index = new LogIndex(join(options.dir, 'index'), identity.indexSlotsPerFile, this.readOnly);
    this.recovery = { scanFromPos: 0, usedCheckpoint: false, scannedRecords: 0, scannedBytes: 0, indexRebuilt: false };
  }
}

export function checkWritable(st: LogState): void {
  if (st.closed) throw new RaftLedgerError('ERR_CLOSED', 'the log is closed');
  if (st.readOnly) throw new RaftLedgerError('ERR_ACCESS', 'the log was opened read-only');
  if (st.failed !== undefined) {
    throw new RaftLedgerError('ERR_LOG_FAILED', `the log refuses appends after a failed flush: ${st.failed.message}`, { cause: st.failed });
  }
}

export function checkOpen(st: LogState): void {
  if (st.closed) throw new RaftLedgerError('ERR_CLOSED', 'the log is closed');
}

/** Bytes between the first segment's start and the write position. */
export function logSizeBytes(st: LogState): number {
  return st.segments.length === 0 ? 0 : st.writePos - st.segments[0]!.base;
}
