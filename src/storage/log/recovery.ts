/**
 * Recovery at open: find where the scan starts (the last durable checkpoint, if it still
 * holds), walk the tail with the native scanner filling the index, tell a torn tail
 * (truncated) from damage followed by valid records: damaged records whose index slots
 * chain to an intact record after them are listed as damaged and kept (recovery-damage.ts;
 * repaired from peers), and so are damaged records at the end of the log up to the durable
 * commit index (only what follows it is a torn tail); other damage followed by valid records
 * is ERR_LOG_CORRUPT unless truncateCorrupt; and make everything recovered durable before
 * the log is used.
 */
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fromSystemError } from '../../errors.js';
import { native, type ScanResult } from '../native.js';
import { SLOT_SIZE_BYTES } from '../format.js';
import type { Checkpoint } from '../meta-store.js';
import { flushNow, writeCheckpoint } from './flush.js';
import { segmentAt, zeroFrom } from './segments.js';
import { SCAN_SLOT_CHUNK, corrupt, type LogState, type Segment } from './state.js';
import { missingAdvice, missingStart, missingTail, type MissingPart } from './completeness.js';
import { segmentFileName } from '../format.js';
import { skipDamaged } from './recovery-damage.js';

export async function recover(st: LogState, truncateCorrupt: boolean): Promise<void> {
  const hard = st.meta.hardState;
  const S = st.segmentSizeBytes;
  // A segment other than the last that was cut short lost bytes in the middle of the log.
  for (let i = 0; i < st.segments.length - 1; i++) {
    const seg = st.segments[i]!;
    if (seg.handle.originalSizeBytes < S) {
      const err = corrupt(`segment was cut to ${seg.handle.originalSizeBytes} bytes`, seg.handle.path, seg.handle.originalSizeBytes);
      if (!truncateCorrupt) throw err;
    }
  }
  if (st.segments.length === 0) {
    const tail = missingTail(st.logDir, hard.firstIndex - 1, hard.commitIndex, hard.firstIndex);
    if (tail !== undefined && !st.readOnly) {
      // Every segment is gone (open.ts named them when the checkpoint did).
      if (!truncateCorrupt) throw missingError([tail]);
      await restartEmpty(st, tail);
      return;
    }
    if (truncateCorrupt && !st.readOnly && (st.meta.readCheckpoint()?.index ?? 0) >= hard.firstIndex) {
      await restartEmpty(st, { what: 'every segment is missing', path: st.logDir, offset: 0, cut: { kind: 'start' } });
      return;
    }
    st.firstIndex = hard.firstIndex;
    st.lastIndex = hard.firstIndex - 1;
    st.lastTerm = hard.firstPos === undefined ? 0 : hard.prevTerm;
    st.writePos = hard.firstPos ?? 0; // a reset log's first record goes at firstPos (reset.ts)
    st.flushedIndex = st.lastIndex;
    return;
  }
  // The first record of the first segment fixes firstIndex.
  const first = st.segments[0]!;
  const firstOffset = firstRecordOffset(hard.firstPos, first.base, S);
  const firstScan = first.handle.scan(firstOffset, S, { segmentSizeBytes: S, maxRecords: 1 });
  const firstOnDisk = firstScan.count === 1 ? firstScan.firstIndex : undefined;
  const start = firstOnDisk === undefined ? undefined : missingStart(st.logDir, first.base, S, firstOnDisk, hard.firstIndex);
  if (start !== undefined && !st.readOnly) {
    if (!truncateCorrupt) throw missingError([start]);
    await restartEmpty(st, start);
    return;
  }
  let expectedIndex: number | undefined;
  let startPos = first.base + firstOffset;
  let lastTerm = hard.firstPos !== undefined ? hard.prevTerm : 0; // a reset log: the term of its start
  let lastIndex = 0;
  const checkpoint = st.meta.readCheckpoint();
  if (checkpoint !== undefined && checkpoint.index > 0 && checkpointHolds(st, checkpoint)) {
    startPos = checkpoint.pos;
    expectedIndex = checkpoint.index + 1;
    lastIndex = checkpoint.index;
    lastTerm = checkpoint.term;
    st.recovery.usedCheckpoint = true;
    st.lastCheckpoint = checkpoint;
  }
  if (firstOnDisk !== undefined) {
    // A crash between saving firstIndex and deleting old segments leaves records below it.
    st.firstIndex = Math.max(firstOnDisk, hard.firstIndex);
    if (expectedIndex === undefined) expectedIndex = firstOnDisk;
  } else {
    st.firstIndex = expectedIndex ?? hard.firstIndex;
  }
  if (expectedIndex === undefined) expectedIndex = hard.firstIndex;
  if (lastIndex === 0) lastIndex = expectedIndex - 1;
  st.recovery.scanFromPos = startPos;

  // Walk the tail.
  const slots = Buffer.alloc(SCAN_SLOT_CHUNK * SLOT_SIZE_BYTES);
  let pos = startPos;
  /** zeros: the walk stopped at zeros (probe where records would be), else search everything after. */
  let stoppedAt: { pos: number; reason: string; segment: Segment; offset: number; zeros: boolean } | undefined;
  let segIdx = st.segments.findIndex((s) => pos >= s.base && pos < s.base + S);
  if (segIdx < 0) {
    // A checkpoint at the very end of the last segment: nothing to scan.
    segIdx = st.segments.length;
  }
  while (segIdx < st.segments.length) {
    const seg = st.segments[segIdx]!;
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
      st.index.set(result.firstIndex, slots, result.count);
      lastIndex = result.lastIndex;
      lastTerm = result.lastTerm;
      st.recovery.scannedRecords += result.count;
    }
    st.recovery.scannedBytes += result.end - offset;
    pos = seg.base + result.end;
    if (result.stop === 'slots-full') continue;
    if (result.stop === 'padding' || result.stop === 'short' || result.stop === 'end') {
      segIdx++;
      if (segIdx < st.segments.length) pos = st.segments[segIdx]!.base;
      continue;
    }
    // Damage with intact records after it (their index slots chain to them) is listed, not
    // cut; so is damage up to the durable commit index when nothing intact follows it.
    const skipped = truncateCorrupt ? undefined : skipDamaged(st, pos, lastIndex + 1, lastTerm, hard.commitIndex);
    if (skipped?.endsLog === true) {
      st.damaged.push(...skipped.damaged);
      const from = skipped.damaged[0]!.index;
      lastIndex += skipped.damaged.length;
      lastTerm = skipped.lastTerm;
      st.notice(`damaged record(s) ${from}..${lastIndex} at the end of the log, at or below the durable commit index: kept (not truncated), to be repaired from peers; what follows is a torn tail`);
      const at = segmentAt(st, skipped.resumePos - 1)!;
      const offset = skipped.resumePos - at.base;
      stoppedAt = { pos: skipped.resumePos, reason: `unwritten or damaged space after the durable commit index ${hard.commitIndex}`, segment: at, offset, zeros: result.stop === 'zeros' };
      break;
    }
    if (skipped !== undefined) {
      st.damaged.push(...skipped.damaged);
      lastIndex += skipped.damaged.length;
      lastTerm = skipped.lastTerm;
      pos = skipped.resumePos;
      segIdx = st.segments.findIndex((s) => pos >= s.base && pos < s.base + S);
      st.notice(`damaged record(s) ${skipped.damaged[0]!.index}..${lastIndex} in the tail, intact records after them: kept (not truncated), to be repaired from peers`);
      continue;
    }
    if (result.stop === 'zeros') {
      stoppedAt = { pos, reason: 'unwritten space', segment: seg, offset: result.end, zeros: true };
      break;
    }
    // invalid
    stoppedAt = { pos, reason: `invalid record (${result.reason ?? 'unknown'})`, segment: seg, offset: result.end, zeros: false };
    break;
  }

  if (stoppedAt !== undefined) {
    // Anything valid after the stop point means damage in the middle of the log. After an
    // invalid record, search everything after it; after unwritten space (the normal end of
    // a log), probe where more records would be: the index slot of the next index, the
    // next 64 KiB, and the start of every later segment.
    const isTear = stoppedAt.reason !== 'unwritten space';
    const damage = stoppedAt.zeros
      ? probeAfterEnd(st, stoppedAt.segment, stoppedAt.offset, lastIndex + 1)
      : findValidAfter(st, stoppedAt.segment, stoppedAt.offset + 1);
    if (damage !== undefined) {
      const message = `${stoppedAt.reason} at pos ${stoppedAt.pos}, followed by a valid record at pos ${damage}`;
      if (!truncateCorrupt || st.readOnly) throw corrupt(message, stoppedAt.segment.handle.path, stoppedAt.offset);
      st.notice(`truncating the log after damage: ${message}`);
    }
    if (isTear || damage !== undefined) {
      st.recovery.truncatedAtPos = stoppedAt.pos;
      st.recovery.truncatedReason = stoppedAt.reason;
      if (isTear) st.notice(`torn tail truncated at pos ${stoppedAt.pos}: ${stoppedAt.reason}`);
    }
  }
  const writePos = stoppedAt?.pos ?? pos;
  st.lastIndex = lastIndex;
  st.lastTerm = lastTerm;
  st.writePos = writePos;
  if (st.lastIndex < st.firstIndex - 1) st.lastIndex = st.firstIndex - 1;
  const lastSeg = segmentAt(st, Math.max(writePos - 1, st.segments[0]!.base)) ?? st.segments[st.segments.length - 1]!;
  const tail = st.readOnly ? undefined : missingTail(lastSeg.handle.path, st.lastIndex, hard.commitIndex, st.firstIndex);
  if (tail !== undefined && !truncateCorrupt) throw missingError([tail]);

  if (!st.readOnly) {
    // After a tear, zero everything after writePos so that no stale bytes sit after later appends.
    // The same after damage cut away with truncateCorrupt (valid records may follow it).
    if (st.recovery.truncatedAtPos !== undefined) zeroFrom(st, writePos);
    st.index.clearFrom(st.lastIndex + 1);
    // What a killed process left in the page cache is made durable before we report it durable.
    st.dirtyFrom = Math.min(startPos, writePos);
    st.dirtyTo = Math.max(st.dirtyTo, writePos);
    await flushNow(st, st.lastIndex);
    await writeCheckpoint(st);
    if (tail !== undefined) {
      st.notice(`repair: ${tail.what}; the log now ends at index ${st.lastIndex} and its commit index is lowered to match (the leader re-sends the rest)`);
      await st.meta.save({ commitIndex: st.lastIndex });
    }
    // A repair may leave a checkpoint that points past the new end: it must not be trusted again.
    if (truncateCorrupt && st.lastCheckpoint === undefined) await st.meta.saveCheckpoint({ index: 0, pos: 0, term: 0 });
  } else {
    st.flushedIndex = st.lastIndex;
    st.flushedPos = writePos;
  }
}

/**
 * Where the first record of the first segment is: at firstPos for a reset log whose
 * first segment still contains it (reset.ts; the bytes before it are zeros and not
 * part of the log), else at the segment's start.
 */
function firstRecordOffset(firstPos: number | undefined, base: number, segmentSizeBytes: number): number {
  if (firstPos === undefined || firstPos < base || firstPos >= base + segmentSizeBytes) return 0;
  return firstPos - base;
}

/** A checkpoint holds when the slot of its index points at a record ending exactly at checkpoint.pos with the same term. */
function checkpointHolds(st: LogState, checkpoint: Checkpoint): boolean {
  const slot = st.index.get(checkpoint.index);
  if (slot === undefined || slot.pos + slot.size !== checkpoint.pos || slot.term !== checkpoint.term) return false;
  const seg = segmentAt(st, slot.pos);
  if (seg === undefined) return false;
  try {
    const bytes = seg.handle.read(slot.pos - seg.base, slot.size);
    const result = native.scanRecords(bytes, 0, bytes.byteLength, {
      basePos: slot.pos,
      segmentSizeBytes: st.segmentSizeBytes,
      expectedIndex: checkpoint.index,
    });
    return result.count === 1 && result.lastTerm === checkpoint.term;
  } catch {
    return false;
  }
}

/** Absolute pos of the first valid record at or after `offset` of `seg` or in any later segment. */
function findValidAfter(st: LogState, seg: Segment, offset: number): number | undefined {
  const S = st.segmentSizeBytes;
  let i = st.segments.indexOf(seg);
  let from = offset;
  for (; i < st.segments.length; i++) {
    const s = st.segments[i]!;
    if (from < S) {
      const found = s.handle.findValidRecord(from, S, s.base);
      if (found >= 0) return s.base + found;
    }
    from = 0;
  }
  return undefined;
}

function probeAfterEnd(st: LogState, seg: Segment, offset: number, nextIndex: number): number | undefined {
  const S = st.segmentSizeBytes;
  const slot = st.index.get(nextIndex);
  if (slot !== undefined && slot.pos > seg.base + offset) {
    const at = segmentAt(st, slot.pos);
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
  for (let i = st.segments.indexOf(seg) + 1; i < st.segments.length; i++) {
    const later = st.segments[i]!;
    const r = later.handle.scan(0, S, { segmentSizeBytes: S, maxRecords: 1 });
    if (r.count === 1) return later.base;
  }
  return undefined;
}


function missingError(parts: readonly MissingPart[]) {
  const p = parts[0]!;
  return corrupt(`missing: ${parts.map((x) => x.what).join('; ')}; ${missingAdvice(parts)}`, p.path, p.offset);
}

/**
 * --repair of a log whose start (or every segment) is gone: move every segment aside and
 * restart the log empty at the hard state's firstIndex, keeping term and vote. The next
 * append must land where index firstIndex was placed (followers take the leader's record
 * bytes with their pos), so that position must be known: 0 for index 1, else its index slot.
 */
async function restartEmpty(st: LogState, part: MissingPart): Promise<void> {
  const hard = st.meta.hardState;
  const F = hard.firstIndex;
  const slot = F === 1 ? undefined : st.index.get(F);
  const posF = F === 1 ? 0 : slot?.pos;
  if (posF === undefined) {
    throw corrupt(
      `missing: ${part.what}; --repair cannot restart this log empty: the position of its first index ${F} is unknown (its index slot is gone too); move ${st.dir} aside and restart the server so that the replica rejoins empty`,
      part.path,
      part.offset,
    );
  }
  const segments = st.segments.splice(0);
  await Promise.allSettled(segments.map((seg) => seg.handle.close()));
  const moved = setAside(st, segments.map((seg) => seg.base));
  st.firstIndex = F;
  st.lastIndex = F - 1;
  st.lastTerm = hard.prevTerm;
  st.writePos = posF;
  st.flushedIndex = st.lastIndex;
  st.flushedPos = posF;
  st.index.clearFrom(F);
  st.recovery.truncatedAtPos = posF;
  st.recovery.truncatedReason = part.what;
  st.notice(
    `repair: ${part.what}; the log restarts empty at index ${F}${moved.count > 0 ? ` (its ${moved.count} remaining segments moved to ${moved.dir})` : ''}, term and vote kept; the leader re-sends every entry`,
  );
  if (hard.commitIndex > F - 1) await st.meta.save({ commitIndex: F - 1 });
  await st.meta.saveCheckpoint({ index: 0, pos: 0, term: 0 });
}

/** Move segment files out of log/ into <dir>/set-aside/<timestamp>/ (raftledger deletes nothing a repair cuts away). */
export function setAside(st: LogState, bases: readonly number[]): { dir: string; count: number } {
  const dir = join(st.dir, 'set-aside', new Date().toISOString().replace(/[:.]/g, '-'));
  if (bases.length === 0) return { dir, count: 0 };
  try {
    mkdirSync(dir, { recursive: true });
    for (const base of bases) renameSync(join(st.logDir, segmentFileName(base)), join(dir, segmentFileName(base)));
  } catch (error) {
    throw fromSystemError(error, `cannot move segments aside into ${dir}`, dir);
  }
  return { dir, count: bases.length };
}

