/**
 * Damaged records in the middle of the log (issue 16): find them, keep them out of reads,
 * and write a verified copy back at the same position.
 *
 * Contracts:
 *  - A damaged record is one whose index slot (term, pos, size, crc: written when the record
 *    was appended intact) points at bytes that do not scan as that record. The slot is the
 *    expectation a repair is checked against; replicas are byte-identical, so a peer's
 *    record of the same index, term and pos is the same bytes.
 *  - st.damaged lists them sorted by index; reads of a listed index fail with
 *    ERR_LOG_DAMAGED (read.ts), term() still answers from the slot.
 *  - writeBackRecord accepts only a record that scans intact as exactly that index, term,
 *    pos and size with the slot's CRC, pwrites it through the addon over the damaged bytes
 *    and makes it durable before the index leaves st.damaged. It never moves or truncates
 *    anything else, so the good entries after the damage are kept.
 */
import { RaftLedgerError } from '../../errors.js';
import { native } from '../native.js';
import { HEADER_SIZE_BYTES, SLOT_SIZE_BYTES, SlotOffset, dataViewOf, readHeader, readU64 } from '../format.js';
import { segmentAt } from './segments.js';
import { checkOpen, checkWritable, type LogState } from './state.js';

export interface DamagedRecord {
  index: number;
  /** What the index slot says the record holds (the expectation a repair must match). */
  term: number;
  pos: number;
  sizeBytes: number;
  crc: number;
  /** Why it does not read back intact. */
  reason: string;
  path: string;
  offset: number;
}

/** Contiguous damaged indexes [fromIndex, toIndex] (inclusive). */
export interface DamagedRange {
  fromIndex: number;
  toIndex: number;
}

export function checkNotDamaged(st: LogState, from: number, to: number): void {
  const d = st.damaged.find((x) => x.index >= from && x.index <= to);
  if (d === undefined) return;
  throw new RaftLedgerError(
    'ERR_LOG_DAMAGED',
    `the record of index ${d.index} (term ${d.term}, pos ${d.pos}) is damaged and not yet repaired: ${d.reason} (${d.path} at offset ${d.offset})`,
    { path: d.path, offset: d.offset },
  );
}

/** Why the bytes of `slot` do not scan as record `index`, or undefined when they do. */
function checkBytes(st: LogState, index: number, bytes: Uint8Array, slot: { term: number; pos: number; size: number; crc: number }): string | undefined {
  if (bytes.byteLength !== slot.size) return `size ${bytes.byteLength} bytes, expected ${slot.size}`;
  if (bytes.byteLength < HEADER_SIZE_BYTES) return 'shorter than a record header';
  let r;
  try {
    r = native.scanRecords(bytes, 0, bytes.byteLength, { basePos: slot.pos, segmentSizeBytes: st.segmentSizeBytes, expectedIndex: index });
  } catch (error) {
    return `cannot scan: ${(error as Error).message}`;
  }
  if (r.count !== 1 || r.stop !== 'end') return `invalid record (${r.reason ?? r.stop})`;
  const header = readHeader(dataViewOf(bytes), 0);
  if (header.index !== index || header.term !== slot.term || header.pos !== slot.pos || header.totalSize !== slot.size) {
    return `record is index ${header.index} term ${header.term} pos ${header.pos}, expected index ${index} term ${slot.term} pos ${slot.pos}`;
  }
  if (header.crc !== slot.crc) return `CRC ${header.crc} differs from the index slot's ${slot.crc}`;
  return undefined;
}

/**
 * Re-verify every record in [from, to] (default: the whole log) against its index slot and
 * replace st.damaged's entries in that range with what is found. Returns the damaged records
 * of the range. An index without a slot counts as damaged with an unknown expectation (term 0):
 * it cannot be written back and the caller must refuse (ERR_LOG_CORRUPT as before).
 */
export function findDamage(st: LogState, from = st.firstIndex, to = st.lastIndex, onBytes?: (sizeBytes: number) => void): DamagedRecord[] {
  checkOpen(st);
  const found: DamagedRecord[] = [];
  const lo = Math.max(from, st.firstIndex);
  const hi = Math.min(to, st.lastIndex);
  let index = lo;
  while (index <= hi) {
    const run = intactRun(st, index, Math.min(hi - index + 1, RUN_MAX_RECORDS));
    if (run.intact) {
      onBytes?.(run.sizeBytes);
      index += run.count;
      continue;
    }
    // Something in the run does not check in bulk: each of its records on its own, with the reason.
    for (const end = index + Math.max(1, run.count); index < end; index++) {
      const d = checkRecord(st, index, onBytes);
      if (d !== undefined) found.push(d);
    }
  }
  if (found.length > 0 || st.damaged.some((d) => d.index >= lo && d.index <= hi)) {
    st.damaged = [...st.damaged.filter((d) => d.index < lo || d.index > hi), ...found].sort((a, b) => a.index - b.index);
  }
  return found;
}

/** Most records / bytes findDamage verifies with one scan. */
const RUN_MAX_RECORDS = 4096;
const RUN_MAX_BYTES = 4 * 1024 * 1024;

/**
 * The records from `first` (at most maxCount) that lie back to back in one segment, from
 * their index slots, checked with one native scan: intact when every one of them scans as
 * its index with a slot identical to the stored one (so checkBytes would pass each).
 * count 0: the slots cannot be read in bulk (the caller checks `first` alone).
 */
function intactRun(st: LogState, first: number, maxCount: number): { intact: boolean; count: number; sizeBytes: number } {
  const slots = st.index.readSlots(first, maxCount);
  if (slots === undefined) return { intact: false, count: 0, sizeBytes: 0 };
  const view = dataViewOf(slots);
  const startPos = readU64(view, SlotOffset.pos);
  const seg = segmentAt(st, startPos);
  if (seg === undefined) return { intact: false, count: 0, sizeBytes: 0 };
  const segEnd = seg.base + st.segmentSizeBytes;
  let count = 0;
  let endPos = startPos;
  while (count < maxCount) {
    const at = count * SLOT_SIZE_BYTES;
    const size = view.getUint32(at + SlotOffset.size, true);
    if (size === 0 || readU64(view, at + SlotOffset.pos) !== endPos || endPos + size > segEnd) break;
    if (count > 0 && endPos + size - startPos > RUN_MAX_BYTES) break;
    endPos += size;
    count++;
  }
  if (count === 0) return { intact: false, count: 0, sizeBytes: 0 };
  const sizeBytes = endPos - startPos;
  const bytes = seg.handle.read(startPos - seg.base, sizeBytes);
  const scanned = Buffer.allocUnsafe(count * SLOT_SIZE_BYTES);
  let intact = false;
  try {
    const r = native.scanRecords(bytes, 0, sizeBytes, { basePos: startPos, segmentSizeBytes: st.segmentSizeBytes, expectedIndex: first, slotsOut: scanned, maxRecords: count });
    intact = r.stop === 'end' && r.count === count && r.end === sizeBytes && scanned.equals(slots.subarray(0, count * SLOT_SIZE_BYTES));
  } catch {
    intact = false;
  }
  return { intact, count, sizeBytes };
}

/** The damage of record `index` alone, with the reason, or undefined when it reads back intact. */
function checkRecord(st: LogState, index: number, onBytes?: (sizeBytes: number) => void): DamagedRecord | undefined {
  const slot = st.index.get(index);
  if (slot === undefined) {
    const where = st.index.locate(index);
    return { index, term: 0, pos: -1, sizeBytes: 0, crc: 0, reason: 'no index slot', path: where.path, offset: where.offset };
  }
  const seg = segmentAt(st, slot.pos);
  if (seg === undefined || slot.pos - seg.base + slot.size > st.segmentSizeBytes) {
    return { index, term: slot.term, pos: slot.pos, sizeBytes: slot.size, crc: slot.crc, reason: 'its segment is missing', path: st.logDir, offset: 0 };
  }
  const bytes = seg.handle.read(slot.pos - seg.base, slot.size);
  onBytes?.(slot.size);
  const why = checkBytes(st, index, bytes, slot);
  if (why === undefined) return undefined;
  return { index, term: slot.term, pos: slot.pos, sizeBytes: slot.size, crc: slot.crc, reason: why, path: seg.handle.path, offset: slot.pos - seg.base };
}

/** st.damaged as contiguous ranges. */
export function damagedRanges(st: LogState): DamagedRange[] {
  const out: DamagedRange[] = [];
  for (const d of st.damaged) {
    const last = out[out.length - 1];
    if (last !== undefined && last.toIndex + 1 === d.index) last.toIndex = d.index;
    else out.push({ fromIndex: d.index, toIndex: d.index });
  }
  return out;
}

/**
 * Write a verified copy of a damaged record back at its position and make it durable.
 * Throws ERR_LOG_CORRUPT (naming what differs) when `record` is not exactly the record the
 * index slot expects; RangeError when `index` is not listed as damaged.
 */
export async function writeBackRecord(st: LogState, index: number, record: Uint8Array): Promise<void> {
  checkWritable(st);
  const at = st.damaged.findIndex((d) => d.index === index);
  if (at < 0) throw new RangeError(`index ${index} is not listed as damaged`);
  const d = st.damaged[at]!;
  if (d.pos < 0) throw new RaftLedgerError('ERR_LOG_CORRUPT', `index ${index} has no index slot: its position is unknown, it cannot be written back`);
  const why = checkBytes(st, index, record, { term: d.term, pos: d.pos, size: d.sizeBytes, crc: d.crc });
  if (why !== undefined) {
    throw new RaftLedgerError('ERR_LOG_CORRUPT', `refusing the copy of index ${index} (term ${d.term}, pos ${d.pos}): ${why}`);
  }
  const seg = segmentAt(st, d.pos);
  if (seg === undefined) throw new RaftLedgerError('ERR_LOG_CORRUPT', `the segment of index ${index} (pos ${d.pos}) is missing: it cannot be written back`);
  const offset = d.pos - seg.base;
  seg.handle.write(offset, record);
  await seg.handle.flush(offset, record.byteLength);
  // Read back through the mapping: only bytes that scan intact leave the list.
  const again = checkBytes(st, index, seg.handle.read(offset, record.byteLength), { term: d.term, pos: d.pos, size: d.sizeBytes, crc: d.crc });
  if (again !== undefined) throw new RaftLedgerError('ERR_LOG_CORRUPT', `index ${index} still reads back damaged after the write-back: ${again}`);
  const now = st.damaged.findIndex((x) => x.index === index);
  if (now >= 0) st.damaged.splice(now, 1);
  st.notice(`repaired index ${index} (term ${d.term}, pos ${d.pos}, ${record.byteLength} bytes) in place`);
}
