/**
 * Disk faults on a STOPPED replica's group directory (the process must not be running).
 *
 *  - truncateTail: cut the last data segment file at a random byte inside the last few
 *    records (a lost tail; the file becomes shorter than the segment size);
 *  - flipBit:      flip one random bit inside one of the last few records (header or body);
 *  - zeroPage:     zero one 4 KiB page overlapping the last few records;
 *  - powerLoss:    forget every write that was not fsynced: using the test-only fsync journal
 *                  (fsyncJournal below: `raftledger server --fsync-journal FILE` installs it as
 *                  every log's onFlushed hook) zero every data byte at or after the last
 *                  flushed position. Index
 *                  files are derived data (rebuilt from the segments); meta and checkpoint
 *                  are replaced atomically with fsync, so they are already as durable as
 *                  they claim.
 */
import { appendFileSync, closeSync, existsSync, ftruncateSync, openSync, readFileSync, readSync, readdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SegmentedLog, type OnFlushed } from '../../storage/index.js';
import type { Prng } from './prng.js';

const PAGE = 4096;

interface Tail {
  segments: Array<{ path: string; base: number }>;
  segmentSizeBytes: number;
  /** Recent records: absolute pos and size. */
  records: Array<{ index: number; pos: number; size: number }>;
}

function segmentFiles(dir: string): Array<{ path: string; base: number }> {
  const logDir = join(dir, 'log');
  if (!existsSync(logDir)) return [];
  return readdirSync(logDir)
    .filter((n) => /^\d{20}$/.test(n))
    .map((n) => ({ path: join(logDir, n), base: Number(n) }))
    .sort((a, b) => a.base - b.base);
}

async function tail(dir: string, count: number): Promise<Tail> {
  const log = await SegmentedLog.open({ dir, readOnly: true });
  try {
    const from = Math.max(log.firstIndex, log.lastIndex - count + 1);
    const records = log.lastIndex >= from ? log.readRange(from, log.lastIndex + 1).map((e) => ({ index: e.index, pos: e.pos, size: e.record.byteLength })) : [];
    return { segments: segmentFiles(dir), segmentSizeBytes: log.segmentSizeBytes, records };
  } finally {
    await log.close();
  }
}

function fileOf(t: Tail, pos: number): { path: string; offset: number } {
  const seg = [...t.segments].reverse().find((s) => s.base <= pos);
  if (seg === undefined) throw new Error(`no segment holds pos ${pos}`);
  return { path: seg.path, offset: pos - seg.base };
}

function patch(path: string, offset: number, bytes: Buffer): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.byteLength, offset);
  } finally {
    closeSync(fd);
  }
}

export async function truncateTail(dir: string, rng: Prng, recent = 8): Promise<string> {
  const t = await tail(dir, recent);
  if (t.records.length === 0) return 'empty log: nothing to truncate';
  const first = t.records[0]!;
  const last = t.records[t.records.length - 1]!;
  const cut = rng.int(first.pos, last.pos + last.size - 1);
  const { path, offset } = fileOf(t, cut);
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, offset);
  } finally {
    closeSync(fd);
  }
  // Later segments (if the cut is not in the last one) would be a gap: drop their contents too.
  for (const s of t.segments) if (s.base > cut) patch(s.path, 0, Buffer.alloc(Math.min(t.segmentSizeBytes, statSync(s.path).size)));
  const hit = t.records.find((r) => cut >= r.pos && cut < r.pos + r.size);
  return `truncated ${path} at offset ${offset} (inside index ${hit?.index ?? '?'}; log had ..${last.index})`;
}

/** A random byte of one of the last `recent` records (draws: the record, then the byte), or undefined for an empty log. */
async function randomRecordByte(dir: string, rng: Prng, recent: number): Promise<{ r: Tail['records'][number]; path: string; offset: number } | undefined> {
  const t = await tail(dir, recent);
  if (t.records.length === 0) return undefined;
  const r = rng.pick(t.records);
  const at = r.pos + rng.int(0, r.size - 1);
  return { r, ...fileOf(t, at) };
}

export async function flipBit(dir: string, rng: Prng, recent = 20): Promise<string> {
  const hit = await randomRecordByte(dir, rng, recent);
  if (hit === undefined) return 'empty log: nothing to flip';
  const { r, path, offset } = hit;
  const fd = openSync(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, offset);
    const bit = rng.int(0, 7);
    b[0] = b[0]! ^ (1 << bit);
    writeSync(fd, b, 0, 1, offset);
    return `flipped bit ${bit} of byte ${offset} in ${path} (index ${r.index}, record ${r.pos}+${r.size})`;
  } finally {
    closeSync(fd);
  }
}

export async function zeroPage(dir: string, rng: Prng, recent = 20): Promise<string> {
  const hit = await randomRecordByte(dir, rng, recent);
  if (hit === undefined) return 'empty log: nothing to zero';
  const { r, path, offset } = hit;
  const page = Math.floor(offset / PAGE) * PAGE;
  const size = Math.min(PAGE, statSync(path).size - page);
  patch(path, page, Buffer.alloc(size));
  return `zeroed page at offset ${page} of ${path} (overlapping index ${r.index})`;
}

/**
 * TEST-ONLY: the onFlushed hook that keeps the fsync journal: one line '<dir> TAB <flushedPos>'
 * per successful flush, so that powerLoss can forget what a machine crash would have lost.
 */
export function fsyncJournal(journal: string): OnFlushed {
  return ({ dir, flushedPos }) => appendFileSync(journal, `${dir}\t${flushedPos}\n`);
}

/** The last flushed position the journal recorded for `dir`, or 0 (nothing ever flushed). */
export function lastFlushedPos(journal: string, dir: string): number {
  if (!existsSync(journal)) return 0;
  const text = readFileSync(journal, 'utf8');
  let pos = 0;
  let at = text.length;
  // Scan backwards for the last complete line of this dir.
  while (at > 0) {
    const start = text.lastIndexOf('\n', at - 2) + 1;
    const line = text.slice(start, at).trimEnd();
    at = start;
    const tab = line.lastIndexOf('\t');
    if (tab > 0 && line.slice(0, tab) === dir) {
      pos = Number(line.slice(tab + 1));
      break;
    }
  }
  return pos;
}

/** Zero every data byte at or after the last fsynced position (see the module comment). */
export function powerLoss(dir: string, journal: string): string {
  const durable = lastFlushedPos(journal, dir);
  let zeroed = 0;
  for (const s of segmentFiles(dir)) {
    const size = statSync(s.path).size;
    const from = Math.max(0, durable - s.base);
    if (from >= size) continue;
    const fd = openSync(s.path, 'r+');
    try {
      const chunk = Buffer.alloc(1 << 20);
      for (let o = from; o < size; o += chunk.byteLength) {
        const n = Math.min(chunk.byteLength, size - o);
        // Skip reading: writing zeros over zeros is harmless; bounded by the segment size.
        writeSync(fd, chunk, 0, n, o);
        zeroed += n;
      }
    } finally {
      closeSync(fd);
    }
  }
  return `power loss: data after pos ${durable} forgotten (${zeroed} bytes zeroed)`;
}
