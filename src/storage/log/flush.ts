/**
 * Durability: group-commit flushes (at most one msync round runs; calls made meanwhile
 * share the next), the failure latch, and recovery checkpoints (the index made durable
 * up to flushedIndex, then the checkpoint saved) at most once per checkpointIntervalMs.
 */
import { RaftLedgerError, fromSystemError } from '../../errors.js';
import { checkWritable, type LogState } from './state.js';

/**
 * Make everything written so far durable. Group commit: at most one flush runs; calls
 * made meanwhile share the next one. Resolves with flushedIndex.
 */
export function flush(st: LogState): Promise<number> {
  try {
    checkWritable(st);
  } catch (error) {
    return Promise.reject(error);
  }
  if (st.flushedIndex >= st.lastIndex && st.dirtyTo <= st.flushedPos && st.truncations.length === 0) {
    return Promise.resolve(st.flushedIndex);
  }
  return new Promise<number>((resolve, reject) => {
    if (st.flushRunning === undefined) {
      st.flushWaiters.push({ resolve, reject });
      st.flushRunning = runFlushes(st);
    } else {
      st.nextFlushWaiters.push({ resolve, reject });
      st.flushAgain = true;
    }
  });
}

async function runFlushes(st: LogState): Promise<void> {
  for (;;) {
    const waiters = st.flushWaiters;
    st.flushWaiters = [];
    try {
      const index = await flushNow(st, st.lastIndex);
      for (const w of waiters) w.resolve(index);
      maybeCheckpoint(st);
    } catch (error) {
      for (const w of waiters) w.reject(error);
      for (const w of st.nextFlushWaiters) w.reject(error);
      st.nextFlushWaiters = [];
      st.flushAgain = false;
    }
    if (!st.flushAgain) break;
    st.flushAgain = false;
    st.flushWaiters = st.nextFlushWaiters;
    st.nextFlushWaiters = [];
  }
  st.flushRunning = undefined;
}

/** msync every dirty range now; returns the new flushedIndex. */
export async function flushNow(st: LogState, targetIndex: number): Promise<number> {
  if (st.failed !== undefined) throw st.failed;
  while (st.truncations.length > 0) await Promise.all(st.truncations.splice(0));
  const targetPos = st.writePos;
  const from = Math.min(st.dirtyFrom, st.flushedPos);
  const to = Math.max(st.dirtyTo, targetPos);
  st.dirtyFrom = Number.POSITIVE_INFINITY;
  st.dirtyTo = 0;
  await flushRange(st, from, to, 'flush failed');
  // Entries truncated away while this flush ran must not count as flushed.
  const index = Math.min(targetIndex, st.lastIndex);
  if (index > st.flushedIndex || targetPos !== st.flushedPos) {
    st.flushedIndex = Math.max(Math.min(st.flushedIndex, st.lastIndex), index);
    st.flushedPos = Math.min(targetPos, st.writePos);
  }
  st.onFlushed?.({ dir: st.dir, flushedIndex: st.flushedIndex, flushedPos: st.flushedPos });
  return st.flushedIndex;
}

/** msync [from, to) of every segment it touches; a failure latches the log (ERR_LOG_FAILED on later writes). */
export async function flushRange(st: LogState, from: number, to: number, what: string): Promise<void> {
  const S = st.segmentSizeBytes;
  const work: Promise<void>[] = [];
  for (const seg of st.segments) {
    const a = Math.max(from, seg.base);
    const b = Math.min(to, seg.base + S);
    if (a < b) work.push(seg.handle.flush(a - seg.base, b - a));
  }
  try {
    await Promise.all(work);
  } catch (error) {
    const wrapped = fromSystemError(error, what);
    st.failed = wrapped instanceof RaftLedgerError ? wrapped : new RaftLedgerError('ERR_IO', `${what}: ${String(error)}`, { cause: error });
    throw st.failed;
  }
}

export function maybeCheckpoint(st: LogState): void {
  if (st.checkpointRunning !== undefined || st.closed) return;
  if (st.lastCheckpoint?.index === st.flushedIndex) return;
  if (Date.now() - st.lastCheckpointAtMs < st.checkpointIntervalMs) return;
  st.checkpointRunning = writeCheckpoint(st)
    .catch((error) => st.notice(`checkpoint failed: ${(error as Error).message}`))
    .finally(() => {
      st.checkpointRunning = undefined;
    });
}

/** Make the index durable up to flushedIndex, then record the checkpoint. */
export async function writeCheckpoint(st: LogState): Promise<void> {
  const index = st.flushedIndex;
  if (index < st.firstIndex) return;
  const slot = st.index.get(index);
  if (slot === undefined) return;
  const from = Math.max(st.firstIndex, (st.lastCheckpoint?.index ?? 0) + 1);
  await st.index.flush(Math.min(from, index), index);
  // A truncation below index while we waited would make this checkpoint wrong.
  if (index > st.lastIndex || st.index.get(index)?.pos !== slot.pos) return;
  const checkpoint = { index, pos: slot.pos + slot.size, term: slot.term };
  await st.meta.saveCheckpoint(checkpoint);
  st.lastCheckpoint = checkpoint;
  st.lastCheckpointAtMs = Date.now();
}

