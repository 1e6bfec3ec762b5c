/**
 * Opening and closing: option checks, the identity file (create or match), and the
 * order of the open steps (segments, then recovery); close flushes, checkpoints and
 * unmaps.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RaftLedgerError, fromSystemError } from '../../errors.js';
import { native } from '../native.js';
import { IDENTITY_FILE, MIN_SEGMENT_SIZE_BYTES, claimOwner, ownerOption, readIdentity, type Identity } from '../identity.js';
import { isLogDirEntry, lockLogDir } from '../dir-lock.js';
import { MetaStore, hardStateLostAdvice } from '../meta-store.js';
import { parseSegmentFileName, segmentFileName } from '../format.js';
import { missingAdvice, missingSegments, type SegmentFile } from './completeness.js';
import { flush, writeCheckpoint } from './flush.js';
import { recover, setAside } from './recovery.js';
import { finishPendingReset } from './reset.js';
import { openSegments } from './segments.js';
import { LogState, checkPositiveInteger, corrupt } from './state.js';
import type { SegmentedLogOptions } from './types.js';

export const DEFAULT_SEGMENT_SIZE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_INDEX_SLOTS_PER_FILE = 1024 * 1024;

/**
 * Open (or create) the log in options.dir and recover it: scan the tail after the
 * last durable checkpoint, truncate a torn tail, fail with ERR_LOG_CORRUPT on damage
 * followed by valid records, and make everything recovered durable before resolving.
 */
export async function openLog(options: SegmentedLogOptions): Promise<LogState> {
  if (options === null || typeof options !== 'object') throw new TypeError('SegmentedLog.open: options must be an object');
  if (typeof options.dir !== 'string' || options.dir === '') throw new TypeError('SegmentedLog.open: dir must be a non-empty string');
  if (options.segmentSizeBytes !== undefined) {
    checkPositiveInteger('segmentSizeBytes', options.segmentSizeBytes, MIN_SEGMENT_SIZE_BYTES, 2 ** 40);
    if (options.segmentSizeBytes % 4096 !== 0) throw new RangeError('segmentSizeBytes must be a multiple of 4096');
  }
  if (options.indexSlotsPerFile !== undefined) checkPositiveInteger('indexSlotsPerFile', options.indexSlotsPerFile, 1024, 2 ** 28);
  if (options.owner !== undefined) options = { ...options, owner: ownerOption(options.owner) };
  // Held from open to close unless readOnly (ERR_DIR_LOCKED while another open holds it).
  const dirLock = lockLogDir(options);
  let st: LogState;
  let identity: Identity;
  try {
    const created = readIdentity(options.dir) === undefined;
    identity = await claimOwner(options.dir, await openIdentity(options), options.owner, options.readOnly ?? false);
    st = new LogState(options, identity, MetaStore.open(options.dir));
    if (!st.readOnly) st.meta.bindDurableLog(() => st.flushedIndex);
    // A log has a hard state from its creation on, so that a missing one is noticed.
    if (created && !st.readOnly) await st.meta.save({});
  } catch (error) {
    dirLock?.release();
    throw error;
  }
  st.dirLock = dirLock;
  try {
    await finishPendingReset(st); // a log reset interrupted by a crash (reset.ts)
    if (!st.readOnly) checkFilesPresent(st, identity, options.truncateCorrupt ?? false);
    openSegments(st);
    await recover(st, options.truncateCorrupt ?? false);
  } catch (error) {
    await closeHandles(st).catch(() => {});
    throw error;
  }
  return st;
}

/**
 * Before any segment is opened (a writable open extends a short file): refuse a log whose
 * hard state is missing while it holds data (ERR_HARD_STATE_LOST, never repaired), and a
 * log with missing or shortened segments (completeness.ts; ERR_LOG_CORRUPT naming them).
 * With `repair`, segments after a gap are moved aside into <dir>/set-aside/<time>/ (never
 * deleted) and the rest is left to recovery, which cuts the log where it now ends.
 */
function checkFilesPresent(st: LogState, identity: Identity, repair: boolean): void {
  const files = listSegmentFiles(st.logDir);
  const checkpoint = st.meta.readCheckpoint();
  if (!st.meta.existed && identity.owner !== undefined) {
    const data = files.find((f) => f.sizeBytes > 0);
    if (data !== undefined || (checkpoint !== undefined && checkpoint.index > 0)) {
      const what = data !== undefined ? `its log has segment ${join(st.logDir, segmentFileName(data.base))}` : `its checkpoint names index ${checkpoint!.index}`;
      throw new RaftLedgerError('ERR_HARD_STATE_LOST', `the hard state file ${join(st.dir, 'meta')} is missing while ${what}; ${hardStateLostAdvice(st.dir)}`, {
        path: join(st.dir, 'meta'),
      });
    }
  }
  const parts = missingSegments(st.logDir, files, st.segmentSizeBytes, checkpoint, st.meta.hardState.firstIndex);
  if (parts.length === 0) return;
  const what = parts.map((p) => p.what).join('; ');
  if (!repair) throw corrupt(`missing: ${what}; ${missingAdvice(parts)}`, parts[0]!.path, parts[0]!.offset);
  const gap = parts.find((p) => p.cut.kind === 'after-gap');
  if (gap !== undefined && gap.cut.kind === 'after-gap') {
    const fromBase = gap.cut.fromBase;
    const moved = setAside(st, files.filter((f) => f.base >= fromBase).map((f) => f.base));
    st.notice(`repair: ${gap.what}; moved the ${moved.count} segments after the gap to ${moved.dir}; the log now ends at the gap`);
  }
}

function listSegmentFiles(logDir: string): SegmentFile[] {
  let names: string[];
  try {
    names = readdirSync(logDir);
  } catch {
    return []; // openSegments reports what is wrong with the folder
  }
  const out: SegmentFile[] = [];
  for (const name of names) {
    const base = parseSegmentFileName(name);
    if (base === undefined) continue; // openSegments: ERR_FOREIGN_FILE
    let sizeBytes = 0;
    try {
      sizeBytes = statSync(join(logDir, name)).size;
    } catch {
      continue;
    }
    out.push({ base, sizeBytes });
  }
  return out.sort((a, b) => a.base - b.base);
}

async function openIdentity(options: SegmentedLogOptions): Promise<Identity> {
  const path = join(options.dir, IDENTITY_FILE);
  const existing = readIdentity(options.dir);
  if (existing === undefined) {
    if (options.readOnly || options.create === false) {
      throw new RaftLedgerError('ERR_NOT_A_LOG', `${options.dir} is not a raftledger log (no ${IDENTITY_FILE})`, { path: options.dir });
    }
    if (existsSync(options.dir)) {
      const foreign = readdirSync(options.dir).filter((n) => !isLogDirEntry(n)); // log, index, LOCK, dot-files
      if (foreign.length > 0) {
        throw new RaftLedgerError(
          'ERR_FOREIGN_FILE',
          `${options.dir} is not empty and is not a raftledger log (found ${foreign.slice(0, 3).join(', ')})`,
          { path: options.dir },
        );
      }
    }
    const identity: Identity = {
      format: 'raftledger',
      version: 1,
      segmentSizeBytes: options.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES,
      indexSlotsPerFile: options.indexSlotsPerFile ?? DEFAULT_INDEX_SLOTS_PER_FILE,
      createdAt: new Date().toISOString(),
      ...(options.owner !== undefined ? { owner: options.owner } : {}),
    };
    try {
      mkdirSync(join(options.dir, 'log'), { recursive: true });
      mkdirSync(join(options.dir, 'index'), { recursive: true });
    } catch (error) {
      throw fromSystemError(error, `cannot create ${options.dir}`, options.dir);
    }
    // Durable before anything else exists; a crash before it lands leaves an empty
    // directory that is simply created again on the next open.
    try {
      await native.atomicWriteFile(path, Buffer.from(JSON.stringify(identity, null, 2) + '\n'));
    } catch (error) {
      throw fromSystemError(error, `cannot create ${path}`, path);
    }
    return identity;
  }
  const identity = existing;
  if (options.segmentSizeBytes !== undefined && options.segmentSizeBytes !== identity.segmentSizeBytes) {
    throw new RaftLedgerError(
      'ERR_BAD_CONFIG',
      `segmentSizeBytes ${options.segmentSizeBytes} does not match the log in ${options.dir}, which uses ${identity.segmentSizeBytes}`,
      { path },
    );
  }
  if (options.indexSlotsPerFile !== undefined && options.indexSlotsPerFile !== identity.indexSlotsPerFile) {
    throw new RaftLedgerError('ERR_BAD_CONFIG', `indexSlotsPerFile ${options.indexSlotsPerFile} does not match the log's ${identity.indexSlotsPerFile}`, { path });
  }
  return identity;
}


/** Flush, checkpoint and unmap. Idempotent; waits for in-flight work. */
export function closeLog(st: LogState): Promise<void> {
  if (st.closing !== undefined) return st.closing;
  st.closing = (async () => {
    if (!st.readOnly && st.failed === undefined) {
      try {
        await flush(st);
        if (st.flushRunning !== undefined) await st.flushRunning;
        await st.checkpointRunning;
        if (st.lastCheckpoint?.index !== st.flushedIndex) await writeCheckpoint(st);
      } catch (error) {
        st.notice(`close: final flush failed: ${(error as Error).message}`);
      }
    }
    st.closed = true;
    await closeHandles(st);
  })();
  return st.closing;
}

async function closeHandles(st: LogState): Promise<void> {
  st.closed = true;
  await Promise.allSettled([...st.background]);
  const segments = st.segments.splice(0);
  await Promise.allSettled([...segments.map((seg) => seg.handle.close()), st.index.close(), st.meta.close()]);
  // Last: nothing of this open touches the directory afterwards.
  st.dirLock?.release();
}
