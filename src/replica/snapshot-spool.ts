/**
 * The follower's durable copy of a partly received application snapshot (docs/FORMAT.md,
 * "snapshot.partial"), so a follower restarted in the middle of a log start resumes from
 * the offset it had instead of from 0.
 *
 * The core's LogStartReceiver keeps the chunks in memory and forgets them when the process
 * ends. This spool sits in front of it (LogLifecycle.receive): every logStart chunk that
 * extends the spooled bytes of the same transfer (index, logTerm, pos, version, size) is
 * appended to `<log dir>/snapshot.partial`. After a restart the first chunk of that
 * transfer reaches the core as one chunk at offset 0 holding the spooled prefix (plus
 * what the chunk adds), so the core answers "I hold N bytes" and the leader continues
 * from N. The leader sends only bytes of the same version (one blob of one leader
 * process), so spooled bytes of the same transfer identity are the leader's bytes.
 *
 * File: header (magic 'RLSPOOL1', index, logTerm, pos, version, size as u64 LE, CRC32 of
 * the 48 bytes before it), then pieces [length u32][CRC32 u32][bytes]. Loading keeps the
 * pieces up to the first torn or damaged one. Appends are not fsynced: a kill -9 keeps
 * them (page cache); after a power loss the CRCs cut the file at the last whole piece.
 * The spool is only an optimization: a missing or damaged file means resuming from 0.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { LogStartMessage } from '../raft/index.js';

export const SPOOL_FILE = 'snapshot.partial';
const MAGIC = Buffer.from('RLSPOOL1', 'latin1');
const HEADER_BYTES = 8 + 5 * 8 + 4;
const PIECE_HEADER_BYTES = 8;

interface TransferId {
  index: number;
  logTerm: number;
  pos: number;
  version: number;
  size: number;
}

function sameId(a: TransferId, b: TransferId): boolean {
  return a.index === b.index && a.logTerm === b.logTerm && a.pos === b.pos && a.version === b.version && a.size === b.size;
}

function idOf(m: LogStartMessage): TransferId {
  return { index: m.index, logTerm: m.logTerm, pos: m.pos, version: m.snapshotVersion, size: m.snapshotSize };
}

function encodeHeader(id: TransferId): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(b, 0);
  let o = 8;
  for (const v of [id.index, id.logTerm, id.pos, id.version, id.size]) {
    b.writeBigUInt64LE(BigInt(v), o);
    o += 8;
  }
  b.writeUInt32LE(crc32(b.subarray(0, o)), o);
  return b;
}

/** The spooled transfer of a file's bytes, or null when it is not a whole, valid spool header. */
export function decodeSpool(file: Buffer): { id: TransferId; bytes: Buffer } | null {
  if (file.byteLength < HEADER_BYTES || !file.subarray(0, 8).equals(MAGIC)) return null;
  if (file.readUInt32LE(HEADER_BYTES - 4) !== crc32(file.subarray(0, HEADER_BYTES - 4))) return null;
  const f: number[] = [];
  for (let o = 8; o < HEADER_BYTES - 4; o += 8) {
    const v = file.readBigUInt64LE(o);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) return null;
    f.push(Number(v));
  }
  const id: TransferId = { index: f[0]!, logTerm: f[1]!, pos: f[2]!, version: f[3]!, size: f[4]! };
  const parts: Buffer[] = [];
  let held = 0;
  let o = HEADER_BYTES;
  while (o + PIECE_HEADER_BYTES <= file.byteLength) {
    const len = file.readUInt32LE(o);
    const end = o + PIECE_HEADER_BYTES + len;
    if (len === 0 || end > file.byteLength || held + len > id.size) break;
    const piece = file.subarray(o + PIECE_HEADER_BYTES, end);
    if (crc32(piece) !== file.readUInt32LE(o + 4)) break;
    parts.push(piece);
    held += len;
    o = end;
  }
  return { id, bytes: Buffer.concat(parts, held) };
}

/** What the core was last given for a transfer (to know whether it holds the spooled prefix). */
interface CoreHolds {
  leader: string;
  term: number;
  id: TransferId;
  held: number;
}

export class SnapshotSpool {
  readonly #path: string;
  readonly #log: (line: string) => void;
  /** The transfer on disk and how many bytes the file holds of it. */
  #file: { id: TransferId; held: number } | null = null;
  /** Bytes loaded at open, handed to the core with the first chunk of their transfer. */
  #resume: { id: TransferId; bytes: Buffer } | null = null;
  #core: CoreHolds | null = null;

  constructor(dir: string, log: (line: string) => void) {
    this.#path = join(dir, SPOOL_FILE);
    this.#log = log;
    let raw: Buffer;
    try {
      raw = readFileSync(this.#path);
    } catch {
      return;
    }
    const spool = decodeSpool(raw);
    if (spool === null || spool.bytes.byteLength === 0) {
      this.clear();
      return;
    }
    this.#resume = spool;
    this.#file = { id: spool.id, held: spool.bytes.byteLength };
    log(`found ${spool.bytes.byteLength} of ${spool.id.size} bytes of an application snapshot for a log start after ${spool.id.index} spooled`);
  }

  /** Bytes spooled on disk (status, tests). */
  get heldBytes(): number {
    return this.#file?.held ?? 0;
  }

  /** Drops the spool when the log already starts at or past `boundary` (the reset it served is done or moot). */
  dropIfPast(logStartAfter: number): void {
    if (this.#file !== null && logStartAfter >= this.#file.id.index) this.clear();
  }

  /** An incoming logStart chunk: spools what it adds; returns the message the core should take. */
  receive(m: LogStartMessage): LogStartMessage {
    const id = idOf(m);
    const resume = this.#resume;
    const c = this.#core;
    const coreHasIt = c !== null && c.leader === m.from && c.term === m.term && sameId(c.id, id) && c.held === m.offset;
    if (resume !== null && sameId(resume.id, id) && !coreHasIt) {
      this.#resume = null;
      const have = resume.bytes;
      const add = m.offset <= have.byteLength && m.offset + m.chunk.byteLength > have.byteLength ? m.chunk.subarray(have.byteLength - m.offset) : new Uint8Array(0);
      this.#append(id, have.byteLength, add);
      const chunk = add.byteLength > 0 ? Buffer.concat([have, add]) : have;
      this.#core = { leader: m.from, term: m.term, id, held: chunk.byteLength };
      this.#log(`resuming the application snapshot of a log start at ${chunk.byteLength} of ${id.size} bytes (leader sent offset ${m.offset})`);
      return { ...m, offset: 0, chunk };
    }
    this.#append(id, m.offset, m.chunk);
    if (m.offset === 0 || coreHasIt) this.#core = { leader: m.from, term: m.term, id, held: m.offset + m.chunk.byteLength };
    return m;
  }

  /** Removes the file (a finished or abandoned transfer). */
  clear(): void {
    this.#file = null;
    this.#resume = null;
    this.#core = null;
    try {
      unlinkSync(this.#path);
    } catch {
      // absent: nothing to do
    }
  }

  /** Appends the part of `chunk` (at `offset` of transfer `id`) beyond the spooled bytes. */
  #append(id: TransferId, offset: number, chunk: Uint8Array): void {
    const f = this.#file;
    try {
      if (f === null || !sameId(f.id, id)) {
        if (offset !== 0 || id.size === 0) return;
        if (this.#resume !== null && !sameId(this.#resume.id, id)) this.#resume = null;
        const fd = openSync(this.#path, 'w');
        try {
          writeSync(fd, encodeHeader(id));
        } finally {
          closeSync(fd);
        }
        this.#file = { id, held: 0 };
      }
      const file = this.#file!;
      if (offset > file.held || offset + chunk.byteLength <= file.held) return;
      const piece = chunk.subarray(file.held - offset, Math.min(chunk.byteLength, id.size - offset));
      if (piece.byteLength === 0) return;
      const head = Buffer.alloc(PIECE_HEADER_BYTES);
      head.writeUInt32LE(piece.byteLength, 0);
      head.writeUInt32LE(crc32(piece), 4);
      const fd = openSync(this.#path, 'a');
      try {
        writeSync(fd, head);
        writeSync(fd, piece);
      } finally {
        closeSync(fd);
      }
      file.held += piece.byteLength;
    } catch (error) {
      this.#file = null;
      this.#log(`cannot spool the application snapshot (${(error as Error).message}): a restart resumes it from 0`);
    }
  }
}
