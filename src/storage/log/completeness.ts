/**
 * What must be on disk (docs/FORMAT.md, "What recovery checks"): the rules that notice
 * missing or shortened files, shared by recovery (open.ts, recovery.ts) and verify.ts.
 * Pure functions of file listings and the small files' content; they never touch a file.
 *
 * The durable facts they compare against:
 *  - segments are contiguous: every base between the first and the last file exists;
 *  - the checkpoint: its record was durable when it was written, so the segment holding
 *    its last byte exists and is at least that long (truncateSuffix never shrinks or
 *    deletes segment files; retention only deletes segments below the hard state's
 *    firstIndex, which is saved first, so a checkpoint below firstIndex is not used);
 *  - the hard state's firstIndex: retention saves it before deleting segments, so the
 *    first record on disk is never above it;
 *  - the hard state's commitIndex: MetaStore.bindDurableLog writes at most the log's
 *    flushed index, so the log never durably ends below it (no Raft truncation removes
 *    committed entries), in both durability modes.
 */
import { join } from 'node:path';
import { segmentFileName } from '../format.js';
import type { Checkpoint } from '../meta-store.js';

export interface SegmentFile {
  base: number;
  sizeBytes: number;
}

/** How --repair removes a missing part. */
export type RepairCut =
  /** Move aside every segment from `fromBase` on; the log then ends at the gap. */
  | { kind: 'after-gap'; fromBase: number }
  /** The log ends early: keep what remains and lower the commit index to its end. */
  | { kind: 'tail' }
  /** The start is gone: the log restarts empty at the hard state's firstIndex. */
  | { kind: 'start' };

export interface MissingPart {
  /** What is missing, in words (names the files). */
  what: string;
  /** The file concerned (present or missing). */
  path: string;
  offset: number;
  /** Log index concerned, when known. */
  index?: number;
  cut: RepairCut;
}

function names(logDir: string, fromBase: number, toBase: number, S: number): string {
  const count = (toBase - fromBase) / S + 1;
  const first = join(logDir, segmentFileName(fromBase));
  if (count === 1) return `segment ${first} is missing`;
  return `${count} segments are missing (${first} .. ${segmentFileName(toBase)})`;
}

/** Gaps between segment files, and segments the checkpoint needs that are absent or too short. `files` sorted by base. */
export function missingSegments(
  logDir: string,
  files: readonly SegmentFile[],
  S: number,
  checkpoint: Checkpoint | undefined,
  firstIndex: number,
): MissingPart[] {
  const out: MissingPart[] = [];
  for (let i = 1; i < files.length; i++) {
    const prev = files[i - 1]!.base;
    const base = files[i]!.base;
    if (base !== prev + S) {
      out.push({
        what: `${names(logDir, prev + S, base - S, S)} between ${segmentFileName(prev)} and ${segmentFileName(base)}`,
        path: join(logDir, segmentFileName(prev + S)),
        offset: 0,
        cut: { kind: 'after-gap', fromBase: base },
      });
    }
  }
  if (checkpoint === undefined || checkpoint.index === 0 || checkpoint.index < firstIndex || checkpoint.pos <= 0) return out;
  const lastByte = checkpoint.pos - 1;
  const holder = lastByte - (lastByte % S);
  const says = `the checkpoint says index ${checkpoint.index} was durable, ending at pos ${checkpoint.pos}`;
  if (files.length === 0) {
    out.push({ what: `every segment is missing (${says}, in ${segmentFileName(holder)})`, path: join(logDir, segmentFileName(holder)), offset: 0, index: checkpoint.index, cut: { kind: 'start' } });
    return out;
  }
  const first = files[0]!.base;
  const last = files[files.length - 1]!;
  if (holder < first) {
    out.push({ what: `${names(logDir, holder, first - S, S)} before ${segmentFileName(first)} (${says})`, path: join(logDir, segmentFileName(holder)), offset: 0, index: checkpoint.index, cut: { kind: 'start' } });
  } else if (holder > last.base) {
    out.push({ what: `${names(logDir, last.base + S, holder, S)} after ${segmentFileName(last.base)} (${says})`, path: join(logDir, segmentFileName(last.base + S)), offset: 0, index: checkpoint.index, cut: { kind: 'tail' } });
  } else {
    const file = files.find((f) => f.base === holder);
    const needed = checkpoint.pos - holder;
    if (file !== undefined && file.sizeBytes < needed) {
      out.push({
        what: `${join(logDir, segmentFileName(holder))} is cut to ${file.sizeBytes} bytes (${says}, at offset ${needed})`,
        path: join(logDir, segmentFileName(holder)),
        offset: file.sizeBytes,
        index: checkpoint.index,
        cut: { kind: 'tail' },
      });
    }
  }
  return out;
}

/** The first record on disk (in segment `firstBase`) is above the hard state's firstIndex: the log's start is gone. */
export function missingStart(logDir: string, firstBase: number, S: number, firstOnDisk: number, firstIndex: number): MissingPart | undefined {
  if (firstOnDisk <= firstIndex) return undefined;
  const present = join(logDir, segmentFileName(firstBase));
  // Index 1 sits at pos 0; for a later first index only "every segment before" is known.
  const files =
    firstBase === 0
      ? `the first segment ${present} does not start with it`
      : firstIndex === 1
        ? names(logDir, 0, firstBase - S, S)
        : `the segments before ${present} are missing`;
  return {
    what: `entries ${firstIndex}..${firstOnDisk - 1} are missing: ${files}; the log starts at index ${firstOnDisk}, but the hard state's first index is ${firstIndex}`,
    path: firstBase === 0 || firstIndex !== 1 ? present : join(logDir, segmentFileName(0)),
    offset: 0,
    index: firstIndex,
    cut: { kind: 'start' },
  };
}

/** The log ends below the durable commit index (commitIndex below firstIndex means compacted, not missing). */
export function missingTail(path: string, lastIndex: number, commitIndex: number, firstIndex: number): MissingPart | undefined {
  if (commitIndex <= lastIndex || commitIndex < firstIndex) return undefined;
  return {
    what: `entries ${lastIndex + 1}..${commitIndex} are missing: the log ends at index ${lastIndex} (in ${path}), below the durable commit index ${commitIndex} (a later segment was deleted or the last one cut short)`,
    path,
    offset: 0,
    index: lastIndex + 1,
    cut: { kind: 'tail' },
  };
}

/** The advice for a refused start; only given where --repair handles the case. */
export function missingAdvice(parts: readonly MissingPart[]): string {
  const start = parts.some((p) => p.cut.kind === 'start');
  return start
    ? 'the replica refuses to start with entries missing; run the server with --repair to empty its log (down to the hard state\'s first index; term and vote are kept) and re-fetch every entry from the leader: safe only while a majority of the other replicas hold the log'
    : 'the replica refuses to start with entries missing; run the server with --repair to cut its log at the end of what remains and lower its commit index to match, and re-fetch the rest from the leader: safe only while a majority of the other replicas hold the missing entries';
}
