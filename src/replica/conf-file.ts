/**
 * `<log dir>/membership` (docs/FORMAT.md, "membership"): the configuration a replica keeps
 * beside its log, so that what the log no longer holds (a Config entry removed by
 * retention, or never received because a log start replaced the log) is not lost.
 *
 * File: magic 'RLMEMB01', index (u64 LE: the configuration is in force at this log
 * index; every Config entry at or below it is older), body length (u32 LE), the Config
 * entry body (docs/FORMAT.md, "Config entry body"), CRC32 (zlib) of everything before it.
 * Saved atomically (temp file, fsync, rename, fsync of the directory), synchronously:
 * membership changes are rare, and a save must be durable before the log depends on it.
 *
 * Contract with the replica (membership.ts): the file exists before the first Config
 * entry reaches the log, so a log without the file holds no Config entry and the start-up
 * scan for them is skipped.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFileDurablySync } from '../storage/index.js';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { RaftLedgerError } from '../errors.js';
import { decodeConfiguration } from '../raft/index.js';

export const MEMBERSHIP_FILE = 'membership';
const MAGIC = Buffer.from('RLMEMB01', 'latin1');
const HEADER_BYTES = 8 + 8 + 4;

export interface StoredConfiguration {
  /** The log index the configuration is in force at. */
  index: number;
  /** A Config entry body. */
  body: Uint8Array;
}

export function encodeStoredConfiguration(c: StoredConfiguration): Buffer {
  const out = Buffer.alloc(HEADER_BYTES + c.body.byteLength + 4);
  MAGIC.copy(out, 0);
  out.writeBigUInt64LE(BigInt(c.index), 8);
  out.writeUInt32LE(c.body.byteLength, 16);
  out.set(c.body, HEADER_BYTES);
  out.writeUInt32LE(crc32(out.subarray(0, HEADER_BYTES + c.body.byteLength)), HEADER_BYTES + c.body.byteLength);
  return out;
}

/** The stored configuration of a file's bytes; ERR_LOG_CORRUPT for anything that is not a whole, valid file. */
export function decodeStoredConfiguration(bytes: Buffer, path: string): StoredConfiguration {
  const corrupt = (why: string): never => {
    throw new RaftLedgerError('ERR_LOG_CORRUPT', `${path}: ${why}`, { path, offset: 0 });
  };
  if (bytes.byteLength < HEADER_BYTES + 4 || !bytes.subarray(0, 8).equals(MAGIC)) corrupt('not a membership file (bad magic or too short)');
  const length = bytes.readUInt32LE(16);
  if (HEADER_BYTES + length + 4 !== bytes.byteLength) corrupt(`length ${length} does not match the file size ${bytes.byteLength}`);
  if (crc32(bytes.subarray(0, HEADER_BYTES + length)) !== bytes.readUInt32LE(HEADER_BYTES + length)) corrupt('CRC mismatch');
  const index = Number(bytes.readBigUInt64LE(8));
  if (!Number.isSafeInteger(index)) corrupt(`index ${index} is out of range`);
  const body = new Uint8Array(bytes.subarray(HEADER_BYTES, HEADER_BYTES + length));
  try {
    decodeConfiguration(body);
  } catch (error) {
    corrupt((error as Error).message);
  }
  return { index, body };
}

/** The configuration stored in log directory `dir`, or undefined when it has none. */
export function readStoredConfiguration(dir: string): StoredConfiguration | undefined {
  const path = join(dir, MEMBERSHIP_FILE);
  if (!existsSync(path)) return undefined;
  return decodeStoredConfiguration(readFileSync(path), path);
}

/** Replace the stored configuration of `dir`, durably, before returning. */
export function saveStoredConfiguration(dir: string, c: StoredConfiguration): void {
  const path = join(dir, MEMBERSHIP_FILE);
  writeFileDurablySync(path, encodeStoredConfiguration(c));
}
