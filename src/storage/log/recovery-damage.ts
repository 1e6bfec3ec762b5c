/**
 * Recovery's test for damage in the middle of the tail (issue 16): the walk after the
 * checkpoint stopped at an invalid record or at zeros, and the index slots of the indexes
 * from there on still describe records (term, pos, size) that chain, record after record,
 * to one that scans intact. Then the log did not end there (a torn tail has nothing intact
 * after it): the records in between are damaged, listed in st.damaged with their slots as
 * the expectation (repaired from peers, damage.ts), and the walk resumes at the intact one.
 * Nothing is truncated.
 *
 * A slot that is missing, out of order, of a lower term or not at the position the chain
 * expects ends the test without result, and recovery treats the stop as before (a torn
 * tail when nothing valid follows, ERR_LOG_CORRUPT otherwise).
 */
import { HEADER_SIZE_BYTES } from '../format.js';
import type { DamagedRecord } from './damage.js';
import { segmentAt } from './segments.js';
import type { LogState } from './state.js';

/** At most this many bytes of consecutive damaged records are skipped in one run. */
const MAX_SKIP_BYTES = 256 * 1024 * 1024;

export interface SkippedDamage {
  damaged: DamagedRecord[];
  /** Where the intact record after the damage starts. */
  resumePos: number;
  /** Term of the last damaged record (the minimum term of what follows). */
  lastTerm: number;
}

export function skipDamaged(st: LogState, stopPos: number, nextIndex: number, minTerm: number): SkippedDamage | undefined {
  const S = st.segmentSizeBytes;
  const damaged: DamagedRecord[] = [];
  let index = nextIndex;
  let expectPos = stopPos;
  let term = minTerm;
  while (expectPos - stopPos <= MAX_SKIP_BYTES) {
    const slot = st.index.get(index);
    if (slot === undefined || slot.term < term || slot.size < HEADER_SIZE_BYTES) return undefined;
    // The next record sits right after the previous one, or at the start of a later segment (after padding).
    const atExpected = slot.pos === expectPos || (damaged.length > 0 && slot.pos > expectPos && slot.pos % S === 0 && slot.pos - expectPos < S);
    if (!atExpected) return undefined;
    const seg = segmentAt(st, slot.pos);
    if (seg === undefined || slot.pos - seg.base + slot.size > S) return undefined;
    const offset = slot.pos - seg.base;
    const r = seg.handle.scan(offset, offset + slot.size, { expectedIndex: index, minTerm: term, segmentSizeBytes: S, maxRecords: 1 });
    if (r.count === 1 && r.lastTerm === slot.term && r.end === offset + slot.size) {
      return damaged.length > 0 ? { damaged, resumePos: slot.pos, lastTerm: term } : undefined;
    }
    damaged.push({
      index,
      term: slot.term,
      pos: slot.pos,
      sizeBytes: slot.size,
      crc: slot.crc,
      reason: r.stop === 'zeros' ? 'zeroed bytes where the record should be' : `invalid record (${r.reason ?? r.stop})`,
      path: seg.handle.path,
      offset,
    });
    term = slot.term;
    expectPos = slot.pos + slot.size;
    index++;
  }
  return undefined;
}
