/**
 * Reads: every read goes through the index slot of its index, cross-checked against the
 * record header it points at (a disagreement rebuilds the index from the data once), and
 * every record returned is CRC-checked by the native scanner and copied out of the mapping.
 */
import { RaftLedgerError } from '../../errors.js';
import { native } from '../native.js';
import { FLAG_PRODUCER, HEADER_SIZE_BYTES, PRODUCER_HEADER_BYTES, SLOT_SIZE_BYTES, dataViewOf, readHeader, readProducerHeader, readRecordFlags, type IndexSlot } from '../format.js';
import { headerAt, segmentAt } from './segments.js';
import { checkNotDamaged } from './damage.js';
import { SCAN_SLOT_CHUNK, checkOpen, corrupt, type LogState } from './state.js';
import type { LogEntry } from './types.js';

export function checkReadable(st: LogState, index: number): void {
  checkOpen(st);
  if (!Number.isSafeInteger(index)) throw new TypeError(`index must be a safe integer, got ${String(index)}`);
  if (index < st.firstIndex) {
    throw new RaftLedgerError('ERR_COMPACTED', `index ${index} is below the first retained index ${st.firstIndex}`);
  }
  if (index > st.lastIndex) {
    throw new RaftLedgerError('ERR_OUT_OF_RANGE', `index ${index} is past the last index ${st.lastIndex}`);
  }
  if (st.damaged.length > 0) checkNotDamaged(st, index, index);
}

/** The slot of `index`, checked against the record header it points at; rebuilds the index once on disagreement. */
export function slotOf(st: LogState, index: number): IndexSlot {
  let slot = st.index.get(index);
  if (slot === undefined || !slotMatches(st, index, slot)) {
    rebuildIndex(st, `slot of index ${index} disagrees with the data`);
    slot = st.index.get(index);
    if (slot === undefined || !slotMatches(st, index, slot)) {
      const where = st.index.locate(index);
      throw corrupt(`no valid record for index ${index}`, where.path, where.offset);
    }
  }
  return slot;
}

function slotMatches(st: LogState, index: number, slot: IndexSlot): boolean {
  const seg = segmentAt(st, slot.pos);
  if (seg === undefined || slot.pos - seg.base + slot.size > st.segmentSizeBytes || slot.size < HEADER_SIZE_BYTES) return false;
  const header = headerAt(st, seg, slot.pos - seg.base);
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
function rebuildIndex(st: LogState, why: string): void {
  st.notice(`rebuilding the index: ${why}`);
  st.recovery.indexRebuilt = true;
  const S = st.segmentSizeBytes;
  const slots = Buffer.alloc(SCAN_SLOT_CHUNK * SLOT_SIZE_BYTES);
  let expected = st.firstIndex;
  const firstPos = st.meta.hardState.firstPos;
  for (const seg of st.segments) {
    // A reset log's first record is at firstPos (log/reset.ts), zeros before it.
    let offset = firstPos !== undefined && firstPos > seg.base && firstPos < seg.base + S ? firstPos - seg.base : 0;
    const limit = Math.min(S, st.writePos - seg.base);
    while (offset < limit) {
      const r = seg.handle.scan(offset, limit, { expectedIndex: expected, slotsOut: slots, segmentSizeBytes: S });
      if (r.count > 0) {
        st.index.set(r.firstIndex, slots, r.count);
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
export function term(st: LogState, index: number): number {
  if (index === 0) return 0;
  if (index === st.firstIndex - 1) return st.meta.hardState.prevTerm;
  if (index === st.lastIndex) return st.lastTerm;
  // A damaged record's term is known from its index slot (damage.ts), so consistency checks still work.
  const damaged = st.damaged.length > 0 ? st.damaged.find((d) => d.index === index) : undefined;
  if (damaged !== undefined) return damaged.term;
  checkReadable(st, index);
  return slotOf(st, index).term;
}

/** Absolute position of the record of `index`. */
export function posOf(st: LogState, index: number): number {
  checkReadable(st, index);
  return slotOf(st, index).pos;
}
/**
 * Entries [from, to) (to exclusive), stopping early once maxBytes of records have been
 * collected (at least one entry is always returned). Each read is CRC-checked.
 */
export function readRange(st: LogState, from: number, to: number, maxBytes = Number.POSITIVE_INFINITY): LogEntry[] {
  checkReadable(st, from);
  if (!Number.isSafeInteger(to) || to <= from) throw new RangeError(`readRange: to (${to}) must be greater than from (${from})`);
  let end = Math.min(to, st.lastIndex + 1);
  // Stop before a known damaged record; the read that starts at it reports ERR_LOG_DAMAGED.
  const damagedAt = st.damaged.find((d) => d.index > from && d.index < end);
  if (damagedAt !== undefined) end = damagedAt.index;
  const out: LogEntry[] = [];
  let bytes = 0;
  let index = from;
  while (index < end) {
    const first = slotOf(st, index);
    const seg = segmentAt(st, first.pos)!;
    // Gather the run of following indexes that sit back to back in the same segment.
    let runEnd = first.pos + first.size;
    let next = index + 1;
    bytes += first.size;
    while (next < end && bytes < maxBytes) {
      const slot = st.index.get(next);
      if (slot === undefined || slot.pos !== runEnd || runEnd + slot.size > seg.base + st.segmentSizeBytes) break;
      runEnd += slot.size;
      bytes += slot.size;
      next++;
    }
    const buffer = seg.handle.read(first.pos - seg.base, runEnd - first.pos);
    const check = native.scanRecords(buffer, 0, buffer.byteLength, {
      basePos: first.pos,
      segmentSizeBytes: st.segmentSizeBytes,
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
      if ((readRecordFlags(view, offset) & FLAG_PRODUCER) !== 0) {
        out.push({
          index: i,
          term: header.term,
          type: header.type,
          pos: header.pos,
          data: record.subarray(HEADER_SIZE_BYTES + PRODUCER_HEADER_BYTES),
          record,
          producer: readProducerHeader(view, offset + HEADER_SIZE_BYTES),
        });
      } else {
        out.push({ index: i, term: header.term, type: header.type, pos: header.pos, data: record.subarray(HEADER_SIZE_BYTES), record });
      }
      offset += header.totalSize;
    }
    index = next;
    if (bytes >= maxBytes) break;
  }
  return out;
}
