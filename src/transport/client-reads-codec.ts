/**
 * The range read of the client protocol (issue 15): request op 21 and response kind 21 of
 * client-codec.ts, which hands these numbers to this module (op/kind 20, commitPosition,
 * stays in client-codec.ts; 22..29 are free for reads). Same frame and integer rules as
 * client-codec.ts: little-endian, u64 < 2^53, trailing bytes and every malformed input are
 * ERR_PROTOCOL.
 *
 * Request 21 readRange (after id u32, group u32, op u8):
 *   u64 from (>= 1), u32 limit (>= 1), u32 maxBytes (>= 1),
 *   u32 waitMs     long poll: how long the server may wait for entry `from` to commit (0: no wait),
 *   u8 consistency (1 linearizable, 2 lease, 3 follower), u32 maxLagMs (0: the server's default),
 *   u8 flags       bit 0: include system entries (no-op, config); other bits 0
 *
 * Response 21 entries (after id u32, kind u8):
 *   u64 commitIndex  the answering replica's commit index when it answered
 *   u64 next         where the next read of this stream starts: one past the last entry the
 *                    server examined (system entries it left out count as examined), or `from`
 *   u32 count, then `count` times: u64 index, u64 term, u64 pos, u8 type (1..3), u32 length + payload
 *   Indexes strictly increase and are below `next` (consecutive when system entries are included).
 */
import { entryTypeCode, entryTypeName, type EntryTypeName, type LedgerEntry } from '../entry.js';
import { EntryType } from '../raft/types.js';
import { checkU32, checkU64, putBytes32, putU64, type WireReader } from './bytes.js';
import { FRAME_HEADER_BYTES, FRAME_LENGTH_OVERHEAD, FrameKind, protocolError, writeFrameHeader } from './frame.js';

/** As client-codec.ts's WireConsistency (the index + 1 is the code); kept here so the two modules do not import each other's values. */
const CONSISTENCY = ['linearizable', 'lease', 'follower'] as const;
type Consistency = (typeof CONSISTENCY)[number];

export interface RangeRequest {
  id: number;
  group: number;
  op: 'readRange';
  from: number;
  limit: number;
  maxBytes: number;
  waitMs: number;
  consistency: Consistency;
  maxLagMs: number;
  includeSystem: boolean;
}

export interface RangeResponse {
  id: number;
  kind: 'entries';
  commitIndex: number;
  next: number;
  /** Decoded payloads are views of the frame body. */
  entries: LedgerEntry[];
}

export const ReadsOp = { readRange: 21 } as const;
export const ReadsRes = { entries: 21 } as const;
/** Op and kind numbers this module decodes (client-codec.ts dispatches on them). */
export const READS_FIRST = 21;
export const READS_LAST = 29;

const INCLUDE_SYSTEM = 1;
/** index, term, pos, type, payload length. */
export const ENTRY_HEAD_BYTES = 8 * 3 + 1 + 4;
/** A request's bytes after the 9 of id, group and op. */
const RANGE_FIELDS_BYTES = 8 + 4 + 4 + 4 + 1 + 4 + 1;
/** A response's bytes before its entries, after the 5 of id and kind. */
export const ENTRIES_HEAD_BYTES = 8 + 8 + 4;

function frame(size: number, kind: FrameKind, maxFrameBytes: number): Buffer {
  const length = size - FRAME_HEADER_BYTES + FRAME_LENGTH_OVERHEAD;
  if (length > maxFrameBytes) throw new RangeError(`encoded frame of ${length} bytes exceeds the cap of ${maxFrameBytes}`);
  const out = Buffer.allocUnsafe(size);
  writeFrameHeader(out, 0, kind, size - FRAME_HEADER_BYTES);
  return out;
}

function positiveU32(v: number, name: string): number {
  checkU32(v, name);
  if (v === 0) throw new RangeError(`${name} must be at least 1`);
  return v;
}

export function encodeRangeRequest(request: RangeRequest, maxFrameBytes: number): Buffer {
  checkU32(request.id, 'request.id');
  checkU32(request.group, 'request.group');
  checkU64(request.from, 'request.from');
  if (request.from < 1) throw new RangeError('request.from must be at least 1');
  const c = CONSISTENCY.indexOf(request.consistency);
  if (c < 0) throw new RangeError(`unknown consistency ${String(request.consistency)}`);
  if (typeof request.includeSystem !== 'boolean') throw new TypeError('request.includeSystem must be a boolean');
  const out = frame(FRAME_HEADER_BYTES + 9 + RANGE_FIELDS_BYTES, FrameKind.ClientRequest, maxFrameBytes);
  let o = FRAME_HEADER_BYTES;
  out.writeUInt32LE(request.id, o);
  out.writeUInt32LE(request.group, o + 4);
  out[o + 8] = ReadsOp.readRange;
  o = putU64(out, o + 9, request.from);
  out.writeUInt32LE(positiveU32(request.limit, 'request.limit'), o);
  out.writeUInt32LE(positiveU32(request.maxBytes, 'request.maxBytes'), o + 4);
  out.writeUInt32LE(checkU32(request.waitMs, 'request.waitMs'), o + 8);
  out[o + 12] = c + 1;
  out.writeUInt32LE(checkU32(request.maxLagMs, 'request.maxLagMs'), o + 13);
  out[o + 17] = request.includeSystem ? INCLUDE_SYSTEM : 0;
  return out;
}

/** The rest of a request body after id, group and op (`op` in READS_FIRST..READS_LAST); the caller ends the reader. */
export function decodeReadsRequest(r: WireReader, id: number, group: number, op: number): RangeRequest {
  if (op !== ReadsOp.readRange) throw protocolError(`client request: unknown op ${op}`);
  const from = r.u64('from');
  const limit = r.u32('limit');
  const maxBytes = r.u32('maxBytes');
  const waitMs = r.u32('waitMs');
  if (from < 1 || limit < 1 || maxBytes < 1) throw protocolError('client request: readRange from, limit and maxBytes must be at least 1');
  const code = r.u8('consistency');
  const consistency = CONSISTENCY[code - 1];
  if (consistency === undefined) throw protocolError(`client request: unknown consistency ${code}`);
  const maxLagMs = r.u32('maxLagMs');
  const flags = r.u8('readRange flags');
  if ((flags & ~INCLUDE_SYSTEM) !== 0) throw protocolError(`client request: readRange flags 0x${flags.toString(16)}`);
  return { id, group, op: 'readRange', from, limit, maxBytes, waitMs, consistency, maxLagMs, includeSystem: (flags & INCLUDE_SYSTEM) !== 0 };
}

/** The encoded size of an entries response (with its frame header). */
export function entriesResponseBytes(entries: readonly LedgerEntry[]): number {
  let size = FRAME_HEADER_BYTES + 5 + ENTRIES_HEAD_BYTES;
  for (const e of entries) size += ENTRY_HEAD_BYTES + e.payload.byteLength;
  return size;
}

export function encodeEntriesResponse(response: RangeResponse, maxFrameBytes: number): Buffer {
  checkU32(response.id, 'response.id');
  checkU64(response.commitIndex, 'response.commitIndex');
  checkU64(response.next, 'response.next');
  for (const e of response.entries) {
    entryTypeCode(e.type);
  }
  const out = frame(entriesResponseBytes(response.entries), FrameKind.ClientResponse, maxFrameBytes);
  out.writeUInt32LE(response.id, FRAME_HEADER_BYTES);
  out[FRAME_HEADER_BYTES + 4] = ReadsRes.entries;
  let o = putU64(out, FRAME_HEADER_BYTES + 5, response.commitIndex);
  o = putU64(out, o, response.next);
  out.writeUInt32LE(response.entries.length, o);
  o += 4;
  for (const e of response.entries) o = putWireEntry(out, o, e);
  return out;
}

/**
 * One entry on the wire (a read answer and each entry of a range answer): index, term, pos
 * (u64 each), type (u8), payload length (u32), payload. Returns the offset after it.
 */
export function putWireEntry(out: Buffer, offset: number, e: LedgerEntry): number {
  let o = putU64(out, offset, checkU64(e.index, 'entry.index'));
  o = putU64(out, o, checkU64(e.term, 'entry.term'));
  o = putU64(out, o, checkU64(e.pos, 'entry.pos'));
  out[o++] = entryTypeCode(e.type);
  return putBytes32(out, o, e.payload);
}

/** The name of an entry type byte from a response; ERR_PROTOCOL for any other value. */
export function decodeEntryType(byte: number): EntryTypeName {
  if (byte === EntryType.Normal || byte === EntryType.Noop || byte === EntryType.Config) return entryTypeName(byte);
  throw protocolError(`client response: entry type ${byte}`);
}

/** The rest of a response body after id and kind (`kind` in READS_FIRST..READS_LAST); the caller ends the reader. */
export function decodeReadsResponse(r: WireReader, id: number, kind: number): RangeResponse {
  if (kind !== ReadsRes.entries) throw protocolError(`client response: unknown kind ${kind}`);
  const commitIndex = r.u64('commitIndex');
  const next = r.u64('next');
  if (next < 1) throw protocolError('client response: next 0');
  const count = r.u32('entry count');
  if (count > Math.floor(r.remaining / ENTRY_HEAD_BYTES)) throw protocolError(`client response: ${count} entries cannot fit in ${r.remaining} bytes`);
  const entries: LedgerEntry[] = new Array<LedgerEntry>(count);
  let prev = 0;
  for (let i = 0; i < count; i++) {
    const index = r.u64('entry.index');
    if (index <= prev || index >= next) throw protocolError(`client response: entry ${index} out of order (after ${prev}, next ${next})`);
    prev = index;
    const term = r.u64('entry.term');
    const pos = r.u64('entry.pos');
    const type = decodeEntryType(r.u8('entry.type'));
    const payload = r.bytes(r.u32('payload length'), 'payload');
    entries[i] = { index, term, pos, type, payload };
  }
  return { id, kind: 'entries', commitIndex, next, entries };
}
