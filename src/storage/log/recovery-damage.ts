/**
 * Recovery's test for damage in the middle of the tail (issue 16): the walk after the
 * checkpoint stopped at an invalid record or at zeros, and the index slots of the indexes
 * from there on still describe records (term, pos, size) that chain, record after record,
 * to one that scans intact. Then the log did not end there (a torn tail has nothing intact
 * after it): the records in between are damaged, listed in st.damaged with their slots as
 * the expectation (repaired from peers, damage.ts), and the walk resumes at the intact one.
 * Nothing is truncated.
 *
 * Zeros (or invalid bytes) that run from the damage to the end of the written log, with no
 * intact record after them, are a torn tail (a crash before those pages were written) and
 * are cut, as before: except the records up to the durable commit index (`durableIndex`, the
 * hard state's commitIndex, which MetaStore never saves above the flushed index). Those were
 * durable before the crash, so their loss is damage, not a tear: when their slots chain from
 * the stop, they are listed as damaged (repaired from peers) and only what follows the commit
 * index's record is cut (`endsLog`).
 *
 * A slot that is missing, out of order, of a lower term or not at the position the chain
 * expects ends the chain; without a result recovery treats the stop as before (a torn tail
 * when nothing valid follows, ERR_LOG_CORRUPT otherwise).
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
  /**
   * No intact record follows: the damaged records are those up to the durable commit index,
   * resumePos is the end of its record, and everything from there on is a torn tail to cut.
   */
  endsLog: boolean;
}

export function skipDamaged(st: LogState, stopPos: number, nextIndex: number, minTerm: number, durableIndex = 0): SkippedDamage | undefined {
  const S = st.segmentSizeBytes;
  const damaged: DamagedRecord[] = [];
  let index = nextIndex;
  let expectPos = stopPos;
  let term = minTerm;
  while (expectPos - stopPos <= MAX_SKIP_BYTES) {
    const slot = st.index.get(index);
    if (slot === undefined || slot.term < term || slot.size < HEADER_SIZE_BYTES) break;
    // The next record sits right after the previous one, or at the start of a later segment (after padding).
    const atExpected = slot.pos === expectPos || (damaged.length > 0 && slot.pos > expectPos && slot.pos % S === 0 && slot.pos - expectPos < S);
    if (!atExpected) break;
    const seg = segmentAt(st, slot.pos);
    if (seg === undefined || slot.pos - seg.base + slot.size > S) break;
    const offset = slot.pos - seg.base;
    const r = seg.handle.scan(offset, offset + slot.size, { expectedIndex: index, minTerm: term, segmentSizeBytes: S, maxRecords: 1 });
    if (r.count === 1 && r.lastTerm === slot.term && r.end === offset + slot.size) {
      return damaged.length > 0 ? { damaged, resumePos: slot.pos, lastTerm: term, endsLog: false } : undefined;
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
  // Nothing intact follows: only the durable prefix (up to the commit index) is damage.
  const durable = damaged.filter((d) => d.index <= durableIndex);
  if (durable.length === 0 || durable[durable.length - 1]!.index !== durableIndex) return undefined;
  const last = durable[durable.length - 1]!;
  return { damaged: durable, resumePos: last.pos + last.sizeBytes, lastTerm: last.term, endsLog: true };
}
