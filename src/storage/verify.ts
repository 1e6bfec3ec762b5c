/**
 * Full offline check of a log directory: every record's structure and CRC, index
 * continuity across segments, every index slot against the data, and the small files.
 * Opens everything read-only and changes nothing. Reports every damaged location
 * (it resynchronizes on the next valid record after damage) rather than stopping at the first.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RaftLedgerError, fromSystemError } from '../errors.js';
import { native, type NativeSegment } from './native.js';
import { SLOT_SIZE_BYTES, dataViewOf, parseSegmentFileName, readSlot, segmentFileName } from './format.js';
import { decodeCheckpoint, decodeHardState, type Checkpoint, type MetaState } from './meta-store.js';
import { missingSegments, missingStart, missingTail, type MissingPart } from './log/completeness.js';
import { readIdentity } from './identity.js';

export interface Damage {
  /** 'missing': a file or entries that the hard state, the checkpoint or contiguity say must exist are absent (log/completeness.ts). */
  kind: 'record' | 'gap' | 'index' | 'meta' | 'checkpoint' | 'segment' | 'missing';
  path: string;
  /** Byte offset inside `path`. */
  offset: number;
  reason: string;
  /** Log index concerned, when known. */
  index?: number;
}

export interface VerifyReport {
  dir: string;
  segmentSizeBytes: number;
  segments: number;
  records: number;
  bodyBytes: number;
  /** Bytes of records walked (headers + bodies + padding). */
  scannedBytes: number;
  firstIndex: number;
  lastIndex: number;
  lastTerm: number;
  damage: Damage[];
  clean: boolean;
  seconds: number;
}

export interface VerifyOptions {
  /** Called after each segment with the running totals. */
  onProgress?: (done: { segment: number; segments: number; scannedBytes: number }) => void;
  /** Stop collecting after this many damaged locations (default 1000). */
  maxDamage?: number;
}

const CHUNK_SLOTS = 65536;

export async function verifyLog(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const started = process.hrtime.bigint();
  const identity = readIdentity(dir);
  if (identity === undefined) throw new RaftLedgerError('ERR_NOT_A_LOG', `${dir} is not a raftledger log (no raftledger.json)`, { path: dir });
  const S = identity.segmentSizeBytes;
  const slotsPerFile = identity.indexSlotsPerFile;
  const maxDamage = options.maxDamage ?? 1000;
  const damage: Damage[] = [];
  const report = (d: Damage): void => {
    if (damage.length < maxDamage) damage.push(d);
  };

  // Small files.
  const metaPath = join(dir, 'meta');
  const metaExists = existsSync(metaPath);
  let hard: MetaState | undefined;
  if (metaExists) {
    try {
      hard = decodeHardState(readFileSync(metaPath), metaPath);
    } catch (error) {
      report({ kind: 'meta', path: metaPath, offset: 0, reason: (error as Error).message });
    }
  }
  const checkpointPath = join(dir, 'checkpoint');
  let checkpoint: Checkpoint | undefined;
  if (existsSync(checkpointPath)) {
    checkpoint = decodeCheckpoint(readFileSync(checkpointPath));
    if (checkpoint === undefined) report({ kind: 'checkpoint', path: checkpointPath, offset: 0, reason: 'damaged checkpoint (recovery will scan from the start)' });
  }
  const missing = (p: MissingPart | undefined): void => {
    if (p !== undefined) report({ kind: 'missing', path: p.path, offset: p.offset, reason: p.what, ...(p.index !== undefined ? { index: p.index } : {}) });
  };

  const logDir = join(dir, 'log');
  const indexDir = join(dir, 'index');
  const bases = listNumbered(logDir).filter((b) => b % S === 0);
  const sizeOf = (base: number): number => {
    try {
      return statSync(join(logDir, segmentFileName(base))).size;
    } catch {
      return 0;
    }
  };
  // Beside a running server, retention may move firstIndex up (meta first, then the
  // segments go) between the reads above and the listing: the start rules use the newest
  // firstIndex, the tail rule the commit index read before the walk (the log only grows).
  const firstIndexNow = Math.max(hard?.firstIndex ?? 1, rereadFirstIndex(metaPath));
  // With the hard state unreadable, the checks that need it are skipped (its damage is reported above).
  if (hard !== undefined || !metaExists) {
    for (const p of missingSegments(logDir, bases.map((base) => ({ base, sizeBytes: sizeOf(base) })), S, checkpoint, firstIndexNow)) missing(p);
  }
  const indexFiles = new Map<number, NativeSegment>();
  for (const first of listNumbered(indexDir)) {
    try {
      indexFiles.set(first, native.openSegment(join(indexDir, segmentFileName(first)), slotsPerFile * SLOT_SIZE_BYTES, { readOnly: true }));
    } catch (error) {
      report({ kind: 'index', path: join(indexDir, segmentFileName(first)), offset: 0, reason: (error as Error).message });
    }
  }

  let records = 0;
  let bodyBytes = 0;
  let scannedBytes = 0;
  let firstIndex = 0;
  let lastIndex = 0;
  let lastTerm = 0;
  const slots = Buffer.alloc(CHUNK_SLOTS * SLOT_SIZE_BYTES);

  const checkSlots = (first: number, count: number): void => {
    let done = 0;
    while (done < count) {
      const index = first + done;
      const fileFirst = index - ((index - 1) % slotsPerFile);
      const within = index - fileFirst;
      const n = Math.min(count - done, slotsPerFile - within);
      const file = indexFiles.get(fileFirst);
      const path = join(indexDir, segmentFileName(fileFirst));
      const expected = slots.subarray(done * SLOT_SIZE_BYTES, (done + n) * SLOT_SIZE_BYTES);
      if (file === undefined) {
        report({ kind: 'index', path, offset: within * SLOT_SIZE_BYTES, index, reason: 'index file missing (rebuilt on open)' });
      } else {
        const actual = file.read(within * SLOT_SIZE_BYTES, n * SLOT_SIZE_BYTES);
        if (!actual.equals(expected)) {
          const a = dataViewOf(actual);
          const e = dataViewOf(expected);
          for (let k = 0; k < n; k++) {
            const got = readSlot(a, k * SLOT_SIZE_BYTES);
            const want = readSlot(e, k * SLOT_SIZE_BYTES);
            if (got.pos !== want.pos || got.term !== want.term || got.size !== want.size || got.crc !== want.crc) {
              report({
                kind: 'index',
                path,
                offset: (within + k) * SLOT_SIZE_BYTES,
                index: index + k,
                reason: got.size === 0 ? 'slot is empty' : `slot disagrees with the data (pos ${got.pos} vs ${want.pos}, term ${got.term} vs ${want.term})`,
              });
            }
          }
        }
      }
      done += n;
    }
  };

  let expected: number | undefined;
  let minTerm = 0;
  let resumeOffset = 0;
  try {
    for (let s = 0; s < bases.length; s++) {
      const base = bases[s]!;
      const path = join(logDir, segmentFileName(base));
      if (s > 0 && base !== bases[s - 1]! + S) expected = undefined; // the gap is reported above (missing)
      let seg: NativeSegment;
      try {
        seg = native.openSegment(path, S, { readOnly: true });
      } catch (error) {
        report({ kind: 'segment', path, offset: 0, reason: (error as Error).message });
        continue;
      }
      try {
        if (seg.originalSizeBytes < S) {
          report({ kind: 'segment', path, offset: seg.originalSizeBytes, reason: `segment is cut short: ${seg.originalSizeBytes} of ${S} bytes` });
        }
        let offset = resumeOffset;
        resumeOffset = 0;
        while (offset < S) {
          const r = seg.scan(offset, S, {
            basePos: base + offset,
            segmentSizeBytes: S,
            slotsOut: slots,
            minTerm,
            ...(expected !== undefined ? { expectedIndex: expected } : {}),
          });
          scannedBytes += r.end - offset;
          if (r.count > 0) {
            if (firstIndex === 0) firstIndex = r.firstIndex;
            records += r.count;
            bodyBytes += r.bodyBytes;
            lastIndex = r.lastIndex;
            lastTerm = r.lastTerm;
            minTerm = r.lastTerm;
            expected = r.lastIndex + 1;
            checkSlots(r.firstIndex, r.count);
          }
          if (r.stop === 'slots-full') {
            offset = r.end;
            continue;
          }
          if (r.stop === 'invalid' || r.stop === 'zeros') {
            const at = r.stop === 'invalid' ? (r.invalidOffset ?? r.end) : r.end;
            const next = findValid(bases, s, at + 1, S, logDir);
            if (r.stop === 'zeros' && next === undefined) {
              offset = S; // end of the log
              s = bases.length;
              break;
            }
            report({
              kind: r.stop === 'zeros' ? 'gap' : 'record',
              path,
              offset: at,
              ...(expected !== undefined ? { index: expected } : {}),
              reason: r.stop === 'zeros' ? 'zeroed bytes where a record should be' : `invalid record: ${r.reason ?? 'unknown'}`,
            });
            if (next === undefined) {
              s = bases.length;
              break;
            }
            expected = undefined;
            if (next.segment !== s) {
              s = next.segment - 1;
              resumeOffset = next.offset;
              break;
            }
            offset = next.offset;
            continue;
          }
          break; // end, short, padding: next segment
        }
      } finally {
        await seg.close();
      }
      options.onProgress?.({ segment: s + 1, segments: bases.length, scannedBytes });
    }
  } finally {
    await Promise.allSettled([...indexFiles.values()].map((f) => f.close()));
  }
  if (hard !== undefined) {
    if (records > 0 && bases.length > 0) missing(missingStart(logDir, bases[0]!, S, firstIndex, firstIndexNow));
    const lastPath = bases.length > 0 ? join(logDir, segmentFileName(bases[bases.length - 1]!)) : logDir;
    missing(missingTail(lastPath, records > 0 ? lastIndex : hard.firstIndex - 1, hard.commitIndex, hard.firstIndex));
  } else if (!metaExists && identity.owner !== undefined && (records > 0 || (checkpoint?.index ?? 0) > 0)) {
    report({
      kind: 'meta',
      path: metaPath,
      offset: 0,
      reason: `the hard state file is missing while the log holds ${records > 0 ? `entries ${firstIndex}..${lastIndex}` : `a checkpoint at index ${checkpoint!.index}`}: the replica's term and vote are lost (it refuses to start)`,
    });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    dir,
    segmentSizeBytes: S,
    segments: bases.length,
    records,
    bodyBytes,
    scannedBytes,
    firstIndex,
    lastIndex,
    lastTerm,
    damage,
    clean: damage.length === 0,
    seconds,
  };
}

function findValid(bases: number[], segment: number, offset: number, S: number, logDir: string): { segment: number; offset: number } | undefined {
  for (let s = segment; s < bases.length; s++) {
    const from = s === segment ? offset : 0;
    if (from >= S) continue;
    let seg: NativeSegment | undefined;
    try {
      seg = native.openSegment(join(logDir, segmentFileName(bases[s]!)), S, { readOnly: true });
      const found = seg.findValidRecord(from, S, bases[s]!);
      if (found >= 0) return { segment: s, offset: found };
    } catch {
      // reported by the main walk
    } finally {
      void seg?.close();
    }
  }
  return undefined;
}

function listNumbered(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fromSystemError(error, `cannot list ${dir}`, dir);
  }
  const out: number[] = [];
  for (const name of names) {
    const n = parseSegmentFileName(name);
    if (n === undefined) {
      throw new RaftLedgerError('ERR_FOREIGN_FILE', `${join(dir, name)} is not a raftledger file`, { path: join(dir, name) });
    }
    out.push(n);
  }
  return out.sort((a, b) => a - b);
}

function rereadFirstIndex(metaPath: string): number {
  try {
    return decodeHardState(readFileSync(metaPath), metaPath).firstIndex;
  } catch {
    return 1;
  }
}
