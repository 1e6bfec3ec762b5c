// Test helpers for the native addon tests: a seeded PRNG, a tiny reference CRC32C, and a
// record encoder that follows docs/FORMAT.md (written independently of src/storage).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { native } from '../../src/storage/native.js';
import { mulberry32 } from '../../src/raft/prng.js';

/** Seeded PRNG: the Raft core's mulberry32 (seed 0 stands for 1). */
export function rng(seed: number): () => number {
  return mulberry32(seed >>> 0 || 1);
}

export function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** Reference CRC32C: byte-at-a-time table, ~0 pre/post conditioning, seed continues. */
export function refCrc32c(data: Uint8Array, seed = 0): number {
  let c = ~seed >>> 0;
  for (let i = 0; i < data.length; i++) c = (c >>> 8) ^ TABLE[(c ^ data[i]!) & 0xff]!;
  return ~c >>> 0;
}

// ------------------------------------------------------------------ records (docs/FORMAT.md)

export const MAGIC = 0x474c4652;
export const HEADER = 48;

export interface RecordSpec {
  type?: number;
  index: number;
  term: number;
  pos: number;
  body?: Uint8Array;
  flags?: number;
  reserved?: number;
  version?: number;
  totalSize?: number;
  bodySize?: number;
}

/** Header + body with its CRC: crc32c(body, crc32c(header[0..44))). */
export function encodeRecord(r: RecordSpec): Buffer {
  const body = r.body ?? new Uint8Array(0);
  const buf = Buffer.alloc(HEADER + body.length);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt8(r.version ?? 1, 4);
  buf.writeUInt8(r.type ?? 1, 5);
  buf.writeUInt16LE(r.flags ?? 0, 6);
  buf.writeUInt32LE(r.totalSize ?? HEADER + body.length, 8);
  buf.writeUInt32LE(r.bodySize ?? body.length, 12);
  buf.writeBigUInt64LE(BigInt(r.index), 16);
  buf.writeBigUInt64LE(BigInt(r.term), 24);
  buf.writeBigUInt64LE(BigInt(r.pos), 32);
  buf.writeUInt32LE(r.reserved ?? 0, 40);
  buf.set(body, HEADER);
  buf.writeUInt32LE(recordCrc(buf), 44);
  return buf;
}

/** CRC of a record whose header starts at buf[0] (padding: header only). */
export function recordCrc(rec: Uint8Array): number {
  const b = Buffer.from(rec.buffer, rec.byteOffset, rec.byteLength);
  const type = b.readUInt8(5);
  const h = native.crc32c(b.subarray(0, 44));
  if (type === 0) return h;
  const bodySize = b.readUInt32LE(12);
  return native.crc32c(b.subarray(HEADER, HEADER + bodySize), h);
}

/** A padding record header: totalSize = bytes to the segment end. */
export function encodePadding(pos: number, totalSize: number): Buffer {
  const buf = Buffer.alloc(HEADER);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt8(1, 4);
  buf.writeUInt8(0, 5);
  buf.writeUInt32LE(totalSize, 8);
  buf.writeBigUInt64LE(BigInt(pos), 32);
  buf.writeUInt32LE(native.crc32c(buf.subarray(0, 44)), 44);
  return buf;
}

/** Consecutive records from `pos`, indexes from firstIndex, with random body sizes. */
export function encodeRun(opts: {
  pos: number;
  firstIndex: number;
  count: number;
  term: number | ((i: number) => number);
  bodySize: number | ((i: number) => number);
  rand?: () => number;
}): { bytes: Buffer; records: { offset: number; index: number; term: number; size: number; crc: number; bodySize: number }[] } {
  const rand = opts.rand ?? rng(42);
  const parts: Buffer[] = [];
  const records = [];
  let off = 0;
  for (let i = 0; i < opts.count; i++) {
    const size = typeof opts.bodySize === 'function' ? opts.bodySize(i) : opts.bodySize;
    const term = typeof opts.term === 'function' ? opts.term(i) : opts.term;
    const rec = encodeRecord({ index: opts.firstIndex + i, term, pos: opts.pos + off, body: randomBytes(rand, size) });
    parts.push(rec);
    records.push({ offset: off, index: opts.firstIndex + i, term, size: rec.length, crc: rec.readUInt32LE(44), bodySize: size });
    off += rec.length;
  }
  return { bytes: Buffer.concat(parts), records };
}

export function tempDir(prefix = 'rl-native-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function segName(base: number): string {
  return String(base).padStart(20, '0');
}

/** Expect fn to throw an Error of class `cls` with `code`. */
export function codeOf(fn: () => unknown): { name: string; code: unknown; error: unknown } {
  try {
    fn();
  } catch (e) {
    const err = e as Error & { code?: unknown };
    return { name: err.constructor.name, code: err.code, error: e };
  }
  return { name: 'none', code: undefined, error: undefined };
}

export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; errno?: number; syscall?: string; path?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}
