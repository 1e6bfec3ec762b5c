/**
 * Truncation: a follower's conflicting suffix (truncateSuffix, durable before any later
 * flush resolves) and retention of whole old segments (truncatePrefix, applyRetention;
 * the active segment is never deleted).
 */
import { statSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { RaftLedgerError, fromSystemError } from '../../errors.js';
import { native } from '../native.js';
import { RecordType } from '../format.js';
import { flushRange } from './flush.js';
import { slotOf } from './read.js';
import { headerAt, track, zeroFrom } from './segments.js';
import { checkWritable, logSizeBytes, type LogState } from './state.js';

/**
 * Remove entries [fromIndex, lastIndex] (a follower's conflicting suffix). Takes
 * effect at once for reads and appends; the removal is durable before the next
 * flush() resolves, and before the returned promise resolves.
 */
export function truncateSuffix(st: LogState, fromIndex: number): Promise<void> {
  checkWritable(st);
  if (!Number.isSafeInteger(fromIndex)) throw new TypeError('truncateSuffix: fromIndex must be a safe integer');
  if (fromIndex > st.lastIndex) return Promise.resolve();
  if (fromIndex < st.firstIndex) {
    throw new RaftLedgerError('ERR_COMPACTED', `truncateSuffix(${fromIndex}) is below the first index ${st.firstIndex}`);
  }
  const slot = slotOf(st, fromIndex);
  const newLastTerm = fromIndex - 1 >= st.firstIndex ? slotOf(st, fromIndex - 1).term : 0;
  const newWritePos = slot.pos;
  zeroFrom(st, newWritePos);
  st.index.clearFrom(fromIndex);
  if (st.damaged.length > 0) st.damaged = st.damaged.filter((d) => d.index < fromIndex); // cut away: nothing left to repair
  st.writePos = newWritePos;
  st.lastIndex = fromIndex - 1;
  st.lastTerm = newLastTerm;
  if (st.flushedIndex > st.lastIndex) {
    st.flushedIndex = st.lastIndex;
    st.flushedPos = Math.min(st.flushedPos, newWritePos);
  }
  if (st.lastCheckpoint !== undefined && st.lastCheckpoint.index > st.lastIndex) {
    st.lastCheckpoint = undefined;
    st.lastCheckpointAtMs = 0;
  }
  const durable = flushRange(st, st.dirtyFrom, st.dirtyTo, 'flush of a truncation failed');
  st.truncations.push(durable);
  return durable;
}

/**
 * Retention: delete whole segments (and index files) whose every entry is below
 * `beforeIndex`. The active segment is never deleted. Returns the new firstIndex.
 */
export async function truncatePrefix(st: LogState, beforeIndex: number): Promise<number> {
  checkWritable(st);
  if (!Number.isSafeInteger(beforeIndex)) throw new TypeError('truncatePrefix: beforeIndex must be a safe integer');
  const limit = Math.min(beforeIndex, st.lastIndex + 1);
  let drop = 0;
  let newFirst = st.firstIndex;
  // Segment k can go when segment k+1 starts with an index <= limit.
  while (drop + 1 < st.segments.length) {
    const next = st.segments[drop + 1]!;
    if (next.base >= st.writePos) break;
    const header = headerAt(st, next, 0);
    if (header === undefined || header.type === RecordType.Padding || header.index > limit) break;
    newFirst = header.index;
    drop++;
  }
  if (drop === 0) return st.firstIndex;
  await st.meta.save({ firstIndex: newFirst, prevTerm: slotOf(st, newFirst - 1).term });
  const removed = st.segments.splice(0, drop);
  st.firstIndex = newFirst;
  if (st.damaged.length > 0) st.damaged = st.damaged.filter((d) => d.index >= newFirst);
  st.index.dropBefore(newFirst);
  // Off the event loop: the unmap (close) and the unlink each take milliseconds for a large
  // segment with its pages cached. A crash before they finish leaves files below firstIndex,
  // which open() removes, as it would after a crash just after the meta save.
  const deletions = removed.map(async (seg) => {
    const closed = seg.handle.close();
    track(st, closed);
    await closed;
    try {
      await unlink(seg.handle.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(error, `cannot delete ${seg.handle.path}`, seg.handle.path);
    }
  });
  await Promise.all(deletions);
  await native.syncDirectory(st.logDir);
  st.notice(`retention: deleted segment(s) ${removed.map((seg) => seg.handle.path).join(', ')} first=${newFirst}`);
  return newFirst;
}

/**
 * Apply a retention policy: drop the oldest segments while the log is larger than
 * maxBytes or a segment is older than maxAgeMs, never dropping an index >= keepFromIndex.
 */
export async function applyRetention(st: LogState, policy: { maxBytes?: number; maxAgeMs?: number; keepFromIndex: number; nowMs?: number }): Promise<number> {
  checkWritable(st);
  const now = policy.nowMs ?? Date.now();
  let drop = 0;
  let size = logSizeBytes(st);
  const S = st.segmentSizeBytes;
  for (let k = 0; k + 1 < st.segments.length; k++) {
    const seg = st.segments[k]!;
    const next = st.segments[k + 1]!;
    if (next.base >= st.writePos) break;
    const header = headerAt(st, next, 0);
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
  if (drop === 0) return st.firstIndex;
  const header = headerAt(st, st.segments[drop]!, 0)!;
  return truncatePrefix(st, header.index);
}

