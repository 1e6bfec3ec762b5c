/**
 * The log reset (docs/FORMAT.md, "Log reset"): a log whose prefix is gone, or that
 * must give way to a leader's log start, restarts empty so that its next record is
 * entry `index + 1` at absolute position `pos` (the same pos as on the leader).
 *
 * Crash atomicity. The commit point is one atomic replacement of the `meta` file
 * (temp file, fsync, rename, fsync of the directory) holding the new start
 * (firstIndex = index + 1, prevTerm = term, firstPos = pos) and the flag
 * `resetPending`. Before it is durable, the old log is untouched; once it is,
 * the old log is dead: the segments, the index files and the checkpoint are
 * removed (here, or by finishPendingReset at the next open if the process died
 * first), the segment containing pos is created, and a second meta save clears
 * the flag. While the flag is set no segment holds a record of the new log (the
 * reset completes before anything is appended), so removing every segment is
 * always right. A crash at any moment thus leaves the old log or the new start.
 */
import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fromSystemError } from '../../errors.js';
import { parseSegmentFileName } from '../format.js';
import { native } from '../native.js';
import { createSegment, track } from './segments.js';
import { checkWritable, type LogState } from './state.js';

export interface ResetPoint {
  /** The last index before the new log (the next entry is index + 1). */
  index: number;
  /** Term of `index`. */
  term: number;
  /** Absolute pos of the record of index + 1. */
  pos: number;
}

export async function resetTo(st: LogState, at: ResetPoint): Promise<void> {
  checkWritable(st);
  if (at === null || typeof at !== 'object') throw new TypeError('resetTo: expected { index, term, pos }');
  for (const key of ['index', 'term', 'pos'] as const) {
    const v = at[key];
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`resetTo: ${key} must be a non-negative safe integer, got ${String(v)}`);
  }
  if (at.index === 0 && at.term !== 0) throw new RangeError('resetTo: the term of index 0 is 0');
  // Let writes to the old segments finish before their files go.
  while (st.flushRunning !== undefined) await st.flushRunning.catch(() => {});
  await Promise.allSettled(st.truncations.splice(0));
  while (st.checkpointRunning !== undefined) await st.checkpointRunning.catch(() => {});
  const hard = st.meta.hardState;
  await st.meta.save({
    firstIndex: at.index + 1,
    prevTerm: at.term,
    firstPos: at.pos,
    commitIndex: Math.max(hard.commitIndex, at.index),
    resetPending: true,
  });
  // Commit point passed: the old log is dead.
  const oldFirst = st.firstIndex;
  for (const seg of st.segments.splice(0)) {
    unlinkQuiet(seg.handle.path);
    track(st, seg.handle.close());
  }
  st.index.clearFrom(Math.max(1, Math.min(oldFirst, at.index + 1)));
  st.index.clearFrom(at.index + 1);
  st.index.dropBefore(at.index + 1);
  st.firstIndex = at.index + 1;
  st.damaged = []; // the old log is gone, and its damage with it
  st.lastIndex = at.index;
  st.lastTerm = at.term;
  st.writePos = at.pos;
  st.flushedIndex = at.index;
  st.flushedPos = at.pos;
  st.dirtyFrom = Number.POSITIVE_INFINITY;
  st.dirtyTo = 0;
  st.lastCheckpoint = undefined;
  st.lastCheckpointAtMs = 0;
  await st.meta.saveCheckpoint({ index: 0, pos: 0, term: 0 });
  const S = st.segmentSizeBytes;
  createSegment(st, at.pos - (at.pos % S));
  await native.syncDirectory(st.logDir);
  await st.meta.save({ resetPending: false });
}

/**
 * At open, before the segments are opened: a reset whose commit point is durable but
 * whose cleanup may not have finished (the process died in between) is completed.
 */
export async function finishPendingReset(st: LogState): Promise<void> {
  const hard = st.meta.hardState;
  if (hard.resetPending !== true || st.readOnly) return;
  st.notice(`finishing an interrupted log reset to index ${hard.firstIndex - 1} at pos ${hard.firstPos ?? 0}`);
  let names: string[] = [];
  try {
    names = readdirSync(st.logDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(error, `cannot list ${st.logDir}`, st.logDir);
  }
  for (const name of names) if (parseSegmentFileName(name) !== undefined) unlinkQuiet(join(st.logDir, name));
  st.index.clearFrom(1);
  st.index.dropBefore(hard.firstIndex);
  await st.meta.saveCheckpoint({ index: 0, pos: 0, term: 0 });
  await native.syncDirectory(st.logDir).catch(() => {});
  await st.meta.save({ resetPending: false });
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(error, `cannot delete ${path}`, path);
  }
}
