/**
 * Appends: entries encoded and sealed here (leader, standalone use), and records received
 * from the leader appended verbatim (follower). Both are atomic with respect to
 * validation and space: nothing is written unless every record is accepted and every
 * segment it needs exists.
 */
import { statfsSync, utimesSync } from 'node:fs';
import { RaftLedgerError, fromSystemError } from '../../errors.js';
import { native, type ScanResult } from '../native.js';
import {
  FLAG_PRODUCER,
  HEADER_SIZE_BYTES,
  PRODUCER_HEADER_BYTES,
  writeProducerHeader,
  RecordType,
  SLOT_SIZE_BYTES,
  dataViewOf,
  writeHeader,
  writeSlot,
} from '../format.js';
import { ensureSegments, maybePreallocate, place, segmentAt, writePadding } from './segments.js';
import { checkWritable, type LogState } from './state.js';
import { recordCrc, recordIndex, recordPos, recordTerm, recordTotalSize } from '../records.js';
import type { AppendInput, AppendRecordsOptions, AppendResult, ProducerSpan } from './types.js';

/**
 * Copy record k (bytes[offsets[k], offsets[k] + sizes[k])) to positions[k], the log being
 * written up to `cursor`; returns the new end. A padding record fills the rest of a segment
 * before a record that starts the next one; records back to back both in `bytes` and on
 * disk, within one segment, go in one write.
 */
function writeRecords(st: LogState, cursor: number, bytes: Uint8Array, offsets: readonly number[], positions: readonly number[], sizes: readonly number[]): number {
  for (let i = 0; i < positions.length; ) {
    const start = positions[i]!;
    if (start !== cursor) writePadding(st, cursor, start);
    const seg = segmentAt(st, start)!;
    const segEnd = seg.base + st.segmentSizeBytes;
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
  return cursor;
}

/** When this process last appended to each open log (the newest entry's write time). */
const lastAppendAtMs = new WeakMap<LogState, number>();

/**
 * Segment age (docs/FORMAT.md, "Segment age"): a segment's mtime is the time of the newest
 * entry it holds. Writes through the mapping move mtime only when a clean page is first
 * dirtied, so when the writer leaves segments behind (a roll) their mtime is set explicitly
 * to the time of the previous append (the newest entry they hold): a full segment's mtime
 * is then exact and never changes again. Segments left before any append of this process
 * keep the mtime their last writer gave them.
 */
function stampLeftSegments(st: LogState, fromPos: number, endPos: number): void {
  const S = st.segmentSizeBytes;
  const previousMs = lastAppendAtMs.get(st);
  lastAppendAtMs.set(st, Date.now());
  if (previousMs === undefined || fromPos === 0 || Math.floor((fromPos - 1) / S) === Math.floor((endPos - 1) / S)) return;
  const nowS = previousMs / 1000;
  const lastBase = endPos - 1 - ((endPos - 1) % S);
  for (let base = fromPos - 1 - ((fromPos - 1) % S); base < lastBase; base += S) {
    const seg = segmentAt(st, base);
    if (seg === undefined) continue;
    try {
      utimesSync(seg.handle.path, nowS, nowS);
    } catch (error) {
      st.notice(`could not stamp the age of ${seg.handle.path}: ${(error as Error).message}`);
    }
  }
}

/**
 * Free space on the log's filesystem for an unprivileged writer (statfs f_bavail * f_bsize).
 * One statfs call: meant for the replica's periodic and per-roll checks, not per append.
 */
export function freeSpaceBytes(st: LogState): number {
  try {
    const s = statfsSync(st.logDir);
    return Number(s.bavail) * Number(s.bsize);
  } catch (error) {
    throw fromSystemError(error, `cannot statfs ${st.logDir}`, st.logDir);
  }
}

/** Bookkeeping after `count` records from firstIndex were written, ending at endPos. */
function appended(st: LogState, firstIndex: number, slots: Uint8Array, count: number, endPos: number, lastTerm: number): void {
  stampLeftSegments(st, st.writePos, endPos);
  st.index.set(firstIndex, slots, count);
  st.dirtyFrom = Math.min(st.dirtyFrom, st.writePos);
  st.writePos = endPos;
  st.dirtyTo = Math.max(st.dirtyTo, endPos);
  st.lastIndex = firstIndex + count - 1;
  st.lastTerm = lastTerm;
  maybePreallocate(st);
}

const NO_SPANS: readonly ProducerSpan[] = [];

/** The producer header flags of `count` entries: per entry the span index covering it, or -1. */
function spanOfEntry(spans: readonly ProducerSpan[], count: number): Int32Array | undefined {
  if (spans.length === 0) return undefined;
  const of = new Int32Array(count).fill(-1);
  let end = 0;
  spans.forEach((s, k) => {
    if (!Number.isInteger(s.offset) || !Number.isInteger(s.count) || s.count < 1 || s.offset < end || s.offset + s.count > count) {
      throw new RangeError(`appendEntries: producer span ${k} (offset ${s.offset}, count ${s.count}) must lie within the ${count} entries, after the previous span`);
    }
    of.fill(k, s.offset, s.offset + s.count);
    end = s.offset + s.count;
  });
  return of;
}

/**
 * Append entries as the leader (or a standalone log): encode, checksum and place them;
 * `producers` (in offset order, not overlapping) says which are written with a producer
 * header. Atomic with respect to validation and space: nothing is written if any entry is
 * too large, out of order, or a segment cannot be created.
 */
export function appendEntries(st: LogState, entries: readonly AppendInput[], keepRecords = true, producers: readonly ProducerSpan[] = NO_SPANS): AppendResult {
  checkWritable(st);
  const count = entries.length;
  if (count === 0) return { firstIndex: st.lastIndex + 1, positions: [], records: [] };
  const spanOf = spanOfEntry(producers, count);
  const positions = new Array<number>(count);
  const sizes = new Array<number>(count);
  let totalBytes = 0;
  let pos = st.writePos;
  let term = st.lastTerm;
  const firstIndex = st.lastIndex + 1;
  for (let i = 0; i < count; i++) {
    const e = entries[i]!;
    if (e === null || typeof e !== 'object' || !(e.data instanceof Uint8Array)) {
      throw new TypeError(`appendEntries: entry ${i} must be { term, data: Uint8Array }`);
    }
    const bodyBytes = e.data.byteLength + (spanOf === undefined || spanOf[i]! < 0 ? 0 : PRODUCER_HEADER_BYTES);
    if (bodyBytes > st.maxEntrySizeBytes) {
      throw new RaftLedgerError('ERR_ENTRY_TOO_LARGE', `entry of ${bodyBytes} bytes exceeds maxEntrySizeBytes ${st.maxEntrySizeBytes}`);
    }
    if (e.index !== undefined && e.index !== firstIndex + i) {
      throw new RangeError(`appendEntries: entry ${i} has index ${e.index}, expected ${firstIndex + i}`);
    }
    if (!Number.isSafeInteger(e.term) || e.term < term) {
      throw new RangeError(`appendEntries: entry ${i} has term ${e.term}, below the previous term ${term}`);
    }
    term = e.term;
    const size = HEADER_SIZE_BYTES + bodyBytes;
    pos = place(st, pos, size);
    positions[i] = pos;
    sizes[i] = size;
    pos += size;
    totalBytes += size;
  }
  ensureSegments(st, pos);

  // Records handed back to the caller need their own buffer; otherwise reuse a scratch
  // buffer (a fresh multi-megabyte allocation per batch costs a page fault per 4 KiB).
  let buffer: Buffer;
  if (keepRecords) buffer = Buffer.allocUnsafe(totalBytes);
  else {
    if (st.scratch.byteLength < totalBytes) st.scratch = Buffer.allocUnsafeSlow(Math.max(totalBytes, 2 * st.scratch.byteLength));
    buffer = st.scratch.subarray(0, totalBytes);
  }
  const view = dataViewOf(buffer);
  const records: Uint8Array[] = keepRecords ? new Array<Uint8Array>(count) : [];
  const slots = Buffer.allocUnsafe(count * SLOT_SIZE_BYTES);
  const slotView = dataViewOf(slots);
  const offsets = new Array<number>(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const e = entries[i]!;
    const span = spanOf === undefined ? -1 : spanOf[i]!;
    if (span < 0) {
      writeHeader(view, offset, e.type ?? RecordType.Normal, e.data.byteLength, firstIndex + i, e.term, positions[i]!);
      buffer.set(e.data, offset + HEADER_SIZE_BYTES);
    } else {
      const s = producers[span]!;
      const body = PRODUCER_HEADER_BYTES + e.data.byteLength;
      writeHeader(view, offset, RecordType.Normal, body, firstIndex + i, e.term, positions[i]!, HEADER_SIZE_BYTES + body, FLAG_PRODUCER);
      writeProducerHeader(view, offset + HEADER_SIZE_BYTES, s.stamp, s.stamp.sequence + (i - s.offset));
      buffer.set(e.data, offset + HEADER_SIZE_BYTES + PRODUCER_HEADER_BYTES);
    }
    offsets[i] = offset;
    offset += sizes[i]!;
  }
  native.sealRecords(buffer, 0, totalBytes);
  for (let k = 0; k < count; k++) {
    const at = offsets[k]!;
    writeSlot(slotView, k * SLOT_SIZE_BYTES, { pos: positions[k]!, term: entries[k]!.term, size: sizes[k]!, crc: recordCrc(buffer, at) });
    if (keepRecords) records[k] = buffer.subarray(at, at + sizes[k]!);
  }
  writeRecords(st, st.writePos, buffer, offsets, positions, sizes);
  appended(st, firstIndex, slots, count, pos, term);
  return { firstIndex, positions, records };
}

/**
 * Append records received from the leader, verbatim: each must carry a valid CRC, the
 * next index, a term no lower than the last, and the pos this log would place it at.
 * `records` holds one or more records packed back to back.
 */
export function appendRecords(st: LogState, records: Uint8Array | readonly Uint8Array[], options: AppendRecordsOptions = {}): { firstIndex: number; lastIndex: number } {
  checkWritable(st);
  const parts = records instanceof Uint8Array ? [records] : records;
  if (!Array.isArray(parts) || !parts.every((p) => p instanceof Uint8Array)) throw new TypeError('appendRecords: records must be a Uint8Array or an array of them');
  let totalBytes = 0;
  for (const part of parts) totalBytes += part.byteLength;
  if (totalBytes === 0) return { firstIndex: st.lastIndex + 1, lastIndex: st.lastIndex };
  const slots = Buffer.allocUnsafe(Math.ceil(totalBytes / HEADER_SIZE_BYTES) * SLOT_SIZE_BYTES);
  // Scan every part before anything is written; the parts continue each other.
  let count = 0;
  let lastIndex = st.lastIndex;
  let lastTerm = st.lastTerm;
  let base = 0;
  for (const part of parts) {
    if (part.byteLength === 0) continue;
    const slotsOut = slots.subarray(count * SLOT_SIZE_BYTES);
    const scan =
      options.checkedOnArrival === true
        ? slotsOfArrivedRecords(part, lastIndex + 1, lastTerm, slotsOut)
        : native.scanRecords(part, 0, part.byteLength, { expectedIndex: lastIndex + 1, minTerm: lastTerm, slotsOut });
    if (scan.stop !== 'end' || scan.end !== part.byteLength) {
      const at = base + (scan.invalidOffset ?? scan.end);
      throw new RaftLedgerError('ERR_LOG_CORRUPT', `received records are invalid at byte ${at}: ${scan.reason ?? scan.stop}`, { offset: at });
    }
    count += scan.count;
    lastIndex = scan.lastIndex;
    lastTerm = scan.lastTerm;
    base += part.byteLength;
  }
  // Check placement before writing anything.
  let pos = st.writePos;
  const layout: { part: Uint8Array; offsets: number[]; positions: number[]; sizes: number[] }[] = [];
  let placed = 0;
  for (const part of parts) {
    const offsets: number[] = [];
    const positions: number[] = [];
    const sizes: number[] = [];
    for (let offset = 0; offset < part.byteLength; ) {
      const size = recordTotalSize(part, offset);
      const expected = place(st, pos, size);
      const actual = recordPos(part, offset);
      if (actual !== expected) {
        throw new RaftLedgerError(
          'ERR_PROTOCOL',
          `received record ${st.lastIndex + 1 + placed} at pos ${actual}, but this log places it at ${expected} (do the replicas use the same segment size?)`,
          { offset: actual },
        );
      }
      if (size - HEADER_SIZE_BYTES > st.maxEntrySizeBytes) {
        throw new RaftLedgerError('ERR_ENTRY_TOO_LARGE', `received entry of ${size - HEADER_SIZE_BYTES} bytes exceeds maxEntrySizeBytes`);
      }
      offsets.push(offset);
      positions.push(expected);
      sizes.push(size);
      placed++;
      pos = expected + size;
      offset += size;
    }
    if (offsets.length > 0) layout.push({ part, offsets, positions, sizes });
  }
  ensureSegments(st, pos);
  const firstIndex = st.lastIndex + 1;
  let cursor = st.writePos;
  for (const l of layout) cursor = writeRecords(st, cursor, l.part, l.offsets, l.positions, l.sizes);
  appended(st, firstIndex, slots, count, pos, lastTerm);
  return { firstIndex, lastIndex };
}

/**
 * Index slots of records whose structure and CRCs were checked when they arrived (see
 * ../records.ts): walks them by totalSize and checks only their fit with this log, which
 * the caller cannot know: indexes continue from expectedIndex, terms never drop below
 * minTerm (the log's last term) nor below the previous record's. A record that cannot be
 * walked (totalSize < 48 or past the end) stops the walk as 'size'.
 */
function slotsOfArrivedRecords(records: Uint8Array, expectedIndex: number, minTerm: number, slots: Buffer): ScanResult {
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
    const total = records.byteLength - offset < HEADER_SIZE_BYTES ? 0 : recordTotalSize(records, offset);
    if (total < HEADER_SIZE_BYTES || offset + total > records.byteLength) return result('invalid', 'size');
    if (recordIndex(records, offset) !== index) return result('invalid', 'index');
    const recTerm = recordTerm(records, offset);
    if (recTerm < term) return result('invalid', 'term');
    writeSlot(slotView, count * SLOT_SIZE_BYTES, { pos: recordPos(records, offset), term: recTerm, size: total, crc: recordCrc(records, offset) });
    term = recTerm;
    index++;
    count++;
    bodyBytes += total - HEADER_SIZE_BYTES;
    offset += total;
  }
  return result('end');
}
