/**
 * Segment files and placement: listing and mapping the data segments at open, where a
 * record goes (placement is a pure function of the previous record's end and the
 * segment size, so every replica puts index i at the same pos), creating segments
 * ahead of the writer, padding, zeroing and header peeks.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RaftLedgerError, fromSystemError } from '../../errors.js';
import { native, type NativeSegment } from '../native.js';
import {
  CRC_COVERED_HEADER_BYTES,
  HEADER_SIZE_BYTES,
  RecordOffset,
  RecordType,
  dataViewOf,
  parseSegmentFileName,
  readHeader,
  segmentFileName,
  writeHeader,
  type RecordHeader,
} from '../format.js';
import { corrupt, type LogState, type Segment } from './state.js';

export function openSegments(st: LogState): void {
  let names: string[];
  try {
    names = readdirSync(st.logDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !st.readOnly) {
      mkdirSync(st.logDir, { recursive: true });
      names = [];
    } else {
      throw fromSystemError(error, `cannot list ${st.logDir}`, st.logDir);
    }
  }
  const bases: number[] = [];
  for (const name of names) {
    const base = parseSegmentFileName(name);
    if (base === undefined || base % st.segmentSizeBytes !== 0) {
      throw new RaftLedgerError('ERR_FOREIGN_FILE', `${join(st.logDir, name)} is not a raftledger segment of ${st.segmentSizeBytes} bytes`, {
        path: join(st.logDir, name),
      });
    }
    bases.push(base);
  }
  bases.sort((a, b) => a - b);
  for (let i = 0; i < bases.length; i++) {
    const base = bases[i]!;
    const path = join(st.logDir, segmentFileName(base));
    if (i > 0 && base !== bases[i - 1]! + st.segmentSizeBytes) {
      throw corrupt(`segment files are not contiguous: ${segmentFileName(bases[i - 1]!)} is followed by ${segmentFileName(base)}`, path, 0);
    }
    let handle: NativeSegment;
    try {
      handle = native.openSegment(path, st.segmentSizeBytes, { readOnly: st.readOnly });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_SEGMENT_SIZE') {
        throw new RaftLedgerError('ERR_BAD_CONFIG', `${path} is larger than the log's segment size ${st.segmentSizeBytes}`, { path, cause: error });
      }
      throw fromSystemError(error, `cannot open segment ${path}`, path);
    }
    st.segments.push({ base, handle });
  }
}

export function headerAt(st: LogState, seg: Segment, offset: number): RecordHeader | undefined {
  if (offset + HEADER_SIZE_BYTES > st.segmentSizeBytes) return undefined;
  const bytes = seg.handle.read(offset, HEADER_SIZE_BYTES);
  const view = dataViewOf(bytes);
  if (view.getUint32(RecordOffset.magic, true) === 0) return undefined;
  return readHeader(view, 0);
}

/** Zero [pos, end of every segment) in the mapping; later segments stay as zeroed spares. */
export function zeroFrom(st: LogState, pos: number): void {
  const S = st.segmentSizeBytes;
  for (let i = st.segments.length - 1; i >= 0; i--) {
    const seg = st.segments[i]!;
    if (seg.base + S <= pos) break;
    const from = Math.max(pos, seg.base) - seg.base;
    seg.handle.zero(from, S - from);
    st.dirtyFrom = Math.min(st.dirtyFrom, seg.base + from);
    st.dirtyTo = Math.max(st.dirtyTo, seg.base + S);
  }
}

export function segmentAt(st: LogState, pos: number): Segment | undefined {
  if (st.segments.length === 0) return undefined;
  const i = Math.floor((pos - st.segments[0]!.base) / st.segmentSizeBytes);
  return i >= 0 && i < st.segments.length ? st.segments[i] : undefined;
}

/** Where a record of `size` bytes goes when the previous record ended at `pos`. */
export function place(st: LogState, pos: number, size: number): number {
  const S = st.segmentSizeBytes;
  const within = pos % S;
  return within + size <= S ? pos : pos - within + S;
}

/** Make sure segments exist for every byte in [pos, end); creates them (throws ERR_NO_SPACE before any write). */
export function ensureSegments(st: LogState, end: number): void {
  const S = st.segmentSizeBytes;
  let nextBase = st.segments.length === 0 ? st.writePos - (st.writePos % S) : st.segments[st.segments.length - 1]!.base + S;
  while (nextBase < end) {
    createSegment(st, nextBase);
    nextBase += S;
  }
}

export function createSegment(st: LogState, base: number): Segment {
  const path = join(st.logDir, segmentFileName(base));
  let handle: NativeSegment;
  try {
    handle = native.createSegment(path, st.segmentSizeBytes);
  } catch (error) {
    throw fromSystemError(error, `cannot create segment ${path}`, path);
  }
  const seg = { base, handle };
  st.segments.push(seg);
  // No prefault: faulting the whole segment in ahead of the writer (MADV_POPULATE_READ on the
  // flusher) zeroes every page once before pwrite overwrites it. At C=128 that was a fifth of
  // all CPU on the machine; the writer's pwrite zeroes only the partial pages at batch edges.
  track(st, native.syncDirectory(st.logDir));
  return seg;
}

/** Pre-create the segment after the one holding `pos` once that one is half full. */
export function maybePreallocate(st: LogState): void {
  if (!st.preallocate || st.segments.length === 0) return;
  const S = st.segmentSizeBytes;
  const last = st.segments[st.segments.length - 1]!;
  if (st.writePos - last.base < S / 2) return;
  try {
    createSegment(st, last.base + S);
  } catch (error) {
    // Not fatal here: the append that needs the segment will report it.
    st.notice(`could not preallocate the next segment: ${(error as Error).message}`);
  }
}

export function track(st: LogState, promise: Promise<unknown>): void {
  const p = promise.catch(() => {}).finally(() => st.background.delete(p));
  st.background.add(p);
}

export function writePadding(st: LogState, pos: number, upTo: number): void {
  const seg = segmentAt(st, pos);
  if (seg === undefined) return;
  const remaining = upTo - pos;
  if (remaining < HEADER_SIZE_BYTES) return; // already zeros
  const header = Buffer.alloc(HEADER_SIZE_BYTES);
  const view = dataViewOf(header);
  writeHeader(view, 0, RecordType.Padding, 0, 0, 0, pos, remaining);
  view.setUint32(RecordOffset.crc, native.crc32c(header.subarray(0, CRC_COVERED_HEADER_BYTES)), true);
  seg.handle.write(pos - seg.base, header);
}

