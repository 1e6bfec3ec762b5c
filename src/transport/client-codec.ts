/**
 * The client protocol (client <-> server on the client port): one request or
 * response per frame (frame.ts). All integers little-endian; u64 values must
 * be safe integers (< 2^53).
 *
 * Request, frame kind ClientRequest (16):
 *
 *   off  size  field
 *   0    4     id      u32 request id, echoed in the response
 *   4    4     group   u32 Raft group id
 *   8    1     op      1 append, 2 read, 3 status, 10 idempotent append, 11 producer id,
 *                      12 idempotent append resent after an unknown outcome (the body of 10),
 *                      20 commitPosition, 21 readRange (client-reads-codec.ts; 22..29 reads), 30-39 membership (member-codec.ts)
 *   then, by op:
 *     append  u32 count (>= 1), then `count` times: u32 length + payload bytes
 *     read    u64 index
 *     status  nothing
 *     idempotent append  u64 producerId (>= 1), u32 epoch, u64 sequence (of the first
 *             payload), then as append (exactly-once appends, README.md)
 *     producer id  nothing (the server answers with a fresh producer id)
 *     commitPosition  u8 consistency (1 linearizable, 2 lease, 3 follower), u32 maxLagMs (0: the server's default)
 *
 * Response, frame kind ClientResponse (17):
 *
 *   0    4     id      u32 request id
 *   4    1     kind    1 append ok, 2 read entry, 3 read miss (null), 4 status, 5 error,
 *                      10 producer id, 20 commit position, 21 entries (client-reads-codec.ts), 30-39 membership (member-codec.ts)
 *   then, by kind:
 *     producer id u64 producerId (>= 1), u32 epoch
 *     append ok   u32 count, then `count` times: u64 index, u64 pos
 *     read entry  u64 index, u64 term, u64 pos, u8 type (1..3), u32 length + payload
 *     read miss   nothing
 *     commit position  u64 index, u64 pos
 *     status      u32 length (<= 1 MiB) + UTF-8 JSON text of an object
 *     error       u8 flags (bit 0 retriable, bit 1 has leader hint, bit 2 hint has address;
 *                 other bits 0), u8 length (1..64) + code ([A-Z0-9_], starting with a letter),
 *                 u32 length (<= 64 KiB) + UTF-8 message,
 *                 [u8 length (1..255) + leader id], [u8 length (1..255) + leader address]
 *   Trailing bytes are a protocol error. Every malformed input is ERR_PROTOCOL.
 *
 * Connection notice: an error response with id CONNECTION_NOTICE_ID (0) that answers no
 * outstanding request is the server saying why it closes this connection (at its
 * connection cap, idle, a frame too slow or too big); the server then ends the connection
 * and reads nothing more from it.
 */
import { entryTypeCode, type LedgerEntry } from '../entry.js';
import type { LeaderHint, WireError } from '../errors.js';
import { checkU32, checkU64, putBytes32, putStr8, putU64, shortUtf8, WireReader } from './bytes.js';
import {
  decodeReadsRequest,
  decodeEntryType,
  decodeReadsResponse,
  encodeEntriesResponse,
  encodeRangeRequest,
  putWireEntry,
  READS_FIRST,
  READS_LAST,
  type RangeRequest,
  type RangeResponse,
} from './client-reads-codec.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_HEADER_BYTES,
  FRAME_LENGTH_OVERHEAD,
  FrameKind,
  protocolError,
  writeFrameHeader,
  type Frame,
} from './frame.js';
import { MEMBER_KINDS, MEMBER_OPS, decodeMemberRequest, decodeMemberResponse, encodeMemberRequestBody, encodeMemberResponseBody, type MemberRequest, type MemberResponse } from './member-codec.js';

export type { WireMemberChange, WireHello } from './member-codec.js';

export const MAX_STATUS_BYTES = 1024 * 1024;
/** Request id of a server's connection notice (see the header comment). */
export const CONNECTION_NOTICE_ID = 0;
export const MAX_ERROR_MESSAGE_BYTES = 64 * 1024;
export const MAX_ERROR_CODE_BYTES = 64;

/** The producer stamp of an idempotent append (the first payload's sequence). */
export interface WireProducer {
  producerId: number;
  epoch: number;
  sequence: number;
  /** Sent as op 12: this batch was sent before and its outcome is unknown (ProducerOptions.retry). */
  retry?: boolean;
}

export type ClientRequest =
  | { id: number; group: number; op: 'append'; payloads: Uint8Array[]; producer?: WireProducer }
  | { id: number; group: number; op: 'producerId' }
  | { id: number; group: number; op: 'read'; index: number }
  | { id: number; group: number; op: 'status' }
  | { id: number; group: number; op: 'commitPosition'; consistency: WireConsistency; maxLagMs: number }
  | RangeRequest
  | MemberRequest;

export type ClientResponse =
  | { id: number; kind: 'append'; ok: { index: number; pos: number }[] }
  | { id: number; kind: 'read'; entry: LedgerEntry | null } // decoded payload: a view of the frame body
  | { id: number; kind: 'status'; status: Record<string, unknown> }
  | { id: number; kind: 'producerId'; producerId: number; epoch: number }
  | { id: number; kind: 'commitPosition'; index: number; pos: number }
  | { id: number; kind: 'error'; error: WireError }
  | RangeResponse
  | MemberResponse;

const Op = { append: 1, read: 2, status: 3, appendIdempotent: 10, producerId: 11, appendIdempotentRetry: 12, commitPosition: 20 } as const;
const Res = { append: 1, readEntry: 2, readMiss: 3, status: 4, error: 5, producerId: 10, commitPosition: 20 } as const;
const PRODUCER_FIELDS_BYTES = 20;

function checkProducer(p: WireProducer): void {
  if (p === null || typeof p !== 'object') throw new TypeError('producer must be { producerId, epoch, sequence }');
  checkU64(p.producerId, 'producer.producerId');
  if (p.producerId < 1) throw new RangeError('producer.producerId must be >= 1');
  checkU32(p.epoch, 'producer.epoch');
  checkU64(p.sequence, 'producer.sequence');
}
/** Read consistency levels on the wire (replica/read-gate.ts); the index + 1 is the code. */
export const WIRE_CONSISTENCY = ['linearizable', 'lease', 'follower'] as const;
export type WireConsistency = (typeof WIRE_CONSISTENCY)[number];
const ERR_RETRIABLE = 1;
const ERR_HINT = 2;
const ERR_HINT_ADDRESS = 4;
const CODE_PATTERN = /^[A-Z][A-Z0-9_]*$/;

function finish(out: Buffer, kind: FrameKind, maxFrameBytes: number): Buffer {
  const length = out.length - FRAME_HEADER_BYTES + FRAME_LENGTH_OVERHEAD;
  if (length > maxFrameBytes) throw new RangeError(`encoded frame of ${length} bytes exceeds the cap of ${maxFrameBytes}`);
  writeFrameHeader(out, 0, kind, out.length - FRAME_HEADER_BYTES);
  return out;
}

/** A request as one complete frame. Misuse (bad ids, no payloads, too big) is a TypeError/RangeError. */
export function encodeClientRequest(request: ClientRequest, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  if (request.op === 'readRange') return encodeRangeRequest(request, maxFrameBytes);
  checkU32(request.id, 'request.id');
  checkU32(request.group, 'request.group');
  if (request.op === 'members' || request.op === 'changeMembers' || request.op === 'hello') return withHead(encodeMemberRequestBody(request), request.id, request.group, MEMBER_OPS[request.op], maxFrameBytes);
  let size = FRAME_HEADER_BYTES + 9;
  switch (request.op) {
    case 'append': {
      if (!Array.isArray(request.payloads) || request.payloads.length === 0) {
        throw new TypeError('append needs at least one payload');
      }
      size += 4;
      if (request.producer !== undefined) {
        checkProducer(request.producer);
        size += PRODUCER_FIELDS_BYTES;
      }
      for (const p of request.payloads) {
        if (!(p instanceof Uint8Array)) throw new TypeError('payloads must be Uint8Arrays');
        size += 4 + p.byteLength;
      }
      break;
    }
    case 'read':
      checkU64(request.index, 'request.index');
      size += 8;
      break;
    case 'status':
    case 'producerId':
      break;
    case 'commitPosition':
      if (!WIRE_CONSISTENCY.includes(request.consistency)) throw new RangeError(`unknown consistency ${String(request.consistency)}`);
      checkU32(request.maxLagMs, 'request.maxLagMs');
      size += 5;
      break;
    default:
      throw new TypeError(`unknown client op ${String((request as { op?: unknown }).op)}`);
  }
  if (size - FRAME_HEADER_BYTES + FRAME_LENGTH_OVERHEAD > maxFrameBytes) {
    throw new RangeError(`request of ${size} bytes exceeds the frame cap of ${maxFrameBytes}`);
  }
  const out = Buffer.allocUnsafe(size);
  let o = FRAME_HEADER_BYTES;
  out.writeUInt32LE(request.id, o);
  out.writeUInt32LE(request.group, o + 4);
  out[o + 8] = request.op === 'append' && request.producer !== undefined ? (request.producer.retry === true ? Op.appendIdempotentRetry : Op.appendIdempotent) : Op[request.op];
  o += 9;
  if (request.op === 'append') {
    if (request.producer !== undefined) {
      o = putU64(out, o, request.producer.producerId);
      out.writeUInt32LE(request.producer.epoch, o);
      o = putU64(out, o + 4, request.producer.sequence);
    }
    out.writeUInt32LE(request.payloads.length, o);
    o += 4;
    for (const p of request.payloads) o = putBytes32(out, o, p);
  } else if (request.op === 'read') {
    o = putU64(out, o, request.index);
  } else if (request.op === 'commitPosition') {
    out[o] = WIRE_CONSISTENCY.indexOf(request.consistency) + 1;
    out.writeUInt32LE(request.maxLagMs, o + 1);
  }
  return finish(out, FrameKind.ClientRequest, maxFrameBytes);
}

/** A request frame: the header fields, then `body`. */
function withHead(body: Buffer, id: number, group: number, op: number, maxFrameBytes: number): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 9 + body.length);
  out.writeUInt32LE(id, FRAME_HEADER_BYTES);
  out.writeUInt32LE(group, FRAME_HEADER_BYTES + 4);
  out[FRAME_HEADER_BYTES + 8] = op;
  out.set(body, FRAME_HEADER_BYTES + 9);
  return finish(out, FrameKind.ClientRequest, maxFrameBytes);
}

/** Decode the body of a ClientRequest frame. Payloads are views of `body`. */
export function decodeClientRequest(body: Buffer): ClientRequest {
  const r = new WireReader(body, 'client request');
  const id = r.u32('id');
  const group = r.u32('group');
  const op = r.u8('op');
  let request: ClientRequest;
  let producer: WireProducer | undefined;
  switch (op) {
    case Op.appendIdempotent:
    case Op.appendIdempotentRetry:
    case Op.append: {
      if (op !== Op.append) {
        producer = { producerId: r.u64('producerId'), epoch: r.u32('epoch'), sequence: r.u64('sequence') };
        if (producer.producerId < 1) throw protocolError('client request: producerId 0');
        if (op === Op.appendIdempotentRetry) producer.retry = true;
      }
      const count = r.u32('payload count');
      if (count === 0) throw protocolError('client request: append without payloads');
      if (count > Math.floor(r.remaining / 4)) throw protocolError(`client request: ${count} payloads cannot fit in ${r.remaining} bytes`);
      const payloads: Uint8Array[] = new Array<Uint8Array>(count);
      for (let i = 0; i < count; i++) payloads[i] = r.bytes(r.u32('payload length'), 'payload');
      request = producer === undefined ? { id, group, op: 'append', payloads } : { id, group, op: 'append', payloads, producer };
      break;
    }
    case Op.read:
      request = { id, group, op: 'read', index: r.u64('index') };
      break;
    case Op.status:
      request = { id, group, op: 'status' };
      break;
    case Op.producerId:
      request = { id, group, op: 'producerId' };
      break;
    case Op.commitPosition: {
      const c = r.u8('consistency');
      const consistency = WIRE_CONSISTENCY[c - 1];
      if (consistency === undefined) throw protocolError(`client request: unknown consistency ${c}`);
      request = { id, group, op: 'commitPosition', consistency, maxLagMs: r.u32('maxLagMs') };
      break;
    }
    default: {
      const member = op < READS_FIRST || op > READS_LAST ? decodeMemberRequest(id, group, op, r) : decodeReadsRequest(r, id, group, op);
      if (member === undefined) throw protocolError(`client request: unknown op ${op}`);
      request = member;
    }
  }
  r.end();
  return request;
}

function checkCode(code: unknown): Buffer {
  if (typeof code !== 'string' || code.length > MAX_ERROR_CODE_BYTES || !CODE_PATTERN.test(code)) {
    throw new TypeError(`error code must match ${CODE_PATTERN} and be at most ${MAX_ERROR_CODE_BYTES} bytes`);
  }
  return Buffer.from(code, 'latin1');
}

/** A response as one complete frame. Misuse is a TypeError/RangeError. */
export function encodeClientResponse(response: ClientResponse, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  if (response.kind === 'entries') return encodeEntriesResponse(response, maxFrameBytes);
  checkU32(response.id, 'response.id');
  const head = FRAME_HEADER_BYTES + 5;
  let out: Buffer;
  if (response.kind === 'members' || response.kind === 'hello') {
    const body = encodeMemberResponseBody(response);
    out = Buffer.allocUnsafe(head + body.length);
    out[FRAME_HEADER_BYTES + 4] = MEMBER_KINDS[response.kind];
    out.set(body, head);
    out.writeUInt32LE(response.id, FRAME_HEADER_BYTES);
    return finish(out, FrameKind.ClientResponse, maxFrameBytes);
  }
  let o = head;
  switch (response.kind) {
    case 'append': {
      const ok = response.ok;
      out = Buffer.allocUnsafe(head + 4 + 16 * ok.length);
      out[FRAME_HEADER_BYTES + 4] = Res.append;
      out.writeUInt32LE(ok.length, o);
      o += 4;
      for (const r of ok) {
        o = putU64(out, o, checkU64(r.index, 'ok.index'));
        o = putU64(out, o, checkU64(r.pos, 'ok.pos'));
      }
      break;
    }
    case 'read': {
      const e = response.entry;
      if (e === null) {
        out = Buffer.allocUnsafe(head);
        out[FRAME_HEADER_BYTES + 4] = Res.readMiss;
        break;
      }
      entryTypeCode(e.type);
      if (head + 29 + e.payload.byteLength - FRAME_HEADER_BYTES > maxFrameBytes) {
        throw new RangeError(`read response exceeds the frame cap of ${maxFrameBytes}`);
      }
      out = Buffer.allocUnsafe(head + 29 + e.payload.byteLength);
      out[FRAME_HEADER_BYTES + 4] = Res.readEntry;
      putWireEntry(out, o, e);
      break;
    }
    case 'producerId': {
      checkU64(response.producerId, 'producerId');
      checkU32(response.epoch, 'epoch');
      out = Buffer.allocUnsafe(head + 12);
      out[FRAME_HEADER_BYTES + 4] = Res.producerId;
      o = putU64(out, o, response.producerId);
      out.writeUInt32LE(response.epoch, o);
      break;
    }
    case 'commitPosition':
      out = Buffer.allocUnsafe(head + 16);
      out[FRAME_HEADER_BYTES + 4] = Res.commitPosition;
      o = putU64(out, o, checkU64(response.index, 'index'));
      putU64(out, o, checkU64(response.pos, 'pos'));
      break;
    case 'status': {
      const s = response.status;
      if (s === null || typeof s !== 'object' || Array.isArray(s)) throw new TypeError('status must be a plain object');
      const json = Buffer.from(JSON.stringify(s), 'utf8');
      if (json.length > MAX_STATUS_BYTES) throw new RangeError(`status JSON is ${json.length} bytes (cap ${MAX_STATUS_BYTES})`);
      out = Buffer.allocUnsafe(head + 4 + json.length);
      out[FRAME_HEADER_BYTES + 4] = Res.status;
      out.writeUInt32LE(json.length, o);
      out.set(json, o + 4);
      break;
    }
    case 'error': {
      const err = response.error;
      const code = checkCode(err.code);
      const message = Buffer.from(String(err.message), 'utf8');
      let cut = Math.min(message.length, MAX_ERROR_MESSAGE_BYTES);
      if (cut < message.length) while (cut > 0 && (message[cut]! & 0xc0) === 0x80) cut--; // whole characters only
      const text = message.subarray(0, cut);
      let flags = err.retriable ? ERR_RETRIABLE : 0;
      let hintId: Buffer | null = null;
      let hintAddress: Buffer | null = null;
      if (err.leaderHint !== undefined) {
        flags |= ERR_HINT;
        hintId = shortUtf8(err.leaderHint.id, 'leaderHint.id');
        if (err.leaderHint.address !== undefined) {
          flags |= ERR_HINT_ADDRESS;
          hintAddress = shortUtf8(err.leaderHint.address, 'leaderHint.address');
        }
      }
      const size =
        head + 1 + 1 + code.length + 4 + text.length + (hintId ? 1 + hintId.length : 0) + (hintAddress ? 1 + hintAddress.length : 0);
      out = Buffer.allocUnsafe(size);
      out[FRAME_HEADER_BYTES + 4] = Res.error;
      out[o++] = flags;
      o = putStr8(out, o, code);
      out.writeUInt32LE(text.length, o);
      out.set(text, o + 4);
      o += 4 + text.length;
      if (hintId) o = putStr8(out, o, hintId);
      if (hintAddress) o = putStr8(out, o, hintAddress);
      break;
    }
    default:
      throw new TypeError(`unknown response kind ${String((response as { kind?: unknown }).kind)}`);
  }
  out.writeUInt32LE(response.id, FRAME_HEADER_BYTES);
  return finish(out, FrameKind.ClientResponse, maxFrameBytes);
}

/** Decode the body of a ClientResponse frame. A read payload is a view of `body`. */
export function decodeClientResponse(body: Buffer): ClientResponse {
  const r = new WireReader(body, 'client response');
  const id = r.u32('id');
  const kind = r.u8('kind');
  let response: ClientResponse;
  switch (kind) {
    case Res.append: {
      const count = r.u32('ok count');
      if (count > Math.floor(r.remaining / 16)) throw protocolError(`client response: ${count} results cannot fit in ${r.remaining} bytes`);
      const ok: { index: number; pos: number }[] = new Array<{ index: number; pos: number }>(count);
      for (let i = 0; i < count; i++) ok[i] = { index: r.u64('ok.index'), pos: r.u64('ok.pos') };
      response = { id, kind: 'append', ok };
      break;
    }
    case Res.readEntry: {
      const index = r.u64('entry.index');
      const term = r.u64('entry.term');
      const pos = r.u64('entry.pos');
      const type = decodeEntryType(r.u8('entry.type'));
      const payload = r.bytes(r.u32('payload length'), 'payload');
      response = { id, kind: 'read', entry: { index, term, pos, type, payload } };
      break;
    }
    case Res.readMiss:
      response = { id, kind: 'read', entry: null };
      break;
    case Res.producerId: {
      const producerId = r.u64('producerId');
      if (producerId < 1) throw protocolError('client response: producerId 0');
      response = { id, kind: 'producerId', producerId, epoch: r.u32('epoch') };
      break;
    }
    case Res.commitPosition:
      response = { id, kind: 'commitPosition', index: r.u64('index'), pos: r.u64('pos') };
      break;
    case Res.status: {
      const text = r.str32('status', MAX_STATUS_BYTES);
      let status: unknown;
      try {
        status = JSON.parse(text);
      } catch (error) {
        throw protocolError('client response: status is not valid JSON', error);
      }
      if (status === null || typeof status !== 'object' || Array.isArray(status)) {
        throw protocolError('client response: status is not a JSON object');
      }
      response = { id, kind: 'status', status: status as Record<string, unknown> };
      break;
    }
    case Res.error: {
      const flags = r.u8('error flags');
      if ((flags & ~(ERR_RETRIABLE | ERR_HINT | ERR_HINT_ADDRESS)) !== 0 || ((flags & ERR_HINT_ADDRESS) !== 0 && (flags & ERR_HINT) === 0)) {
        throw protocolError(`client response: error flags 0x${flags.toString(16)}`);
      }
      const code = r.str8('error code', 1);
      if (code.length > MAX_ERROR_CODE_BYTES || !CODE_PATTERN.test(code)) throw protocolError('client response: malformed error code');
      const message = r.str32('error message', MAX_ERROR_MESSAGE_BYTES);
      const error: WireError = { code, message, retriable: (flags & ERR_RETRIABLE) !== 0 };
      if ((flags & ERR_HINT) !== 0) {
        const hint: LeaderHint = { id: r.str8('leader id', 1) };
        if ((flags & ERR_HINT_ADDRESS) !== 0) hint.address = r.str8('leader address', 1);
        error.leaderHint = hint;
      }
      response = { id, kind: 'error', error };
      break;
    }
    default: {
      const member = kind < READS_FIRST || kind > READS_LAST ? decodeMemberResponse(id, kind, r) : decodeReadsResponse(r, id, kind);
      if (member === undefined) throw protocolError(`client response: unknown kind ${kind}`);
      response = member;
    }
  }
  r.end();
  return response;
}

export function decodeClientRequestFrame(frame: Frame): ClientRequest {
  if (frame.kind !== FrameKind.ClientRequest) throw protocolError(`expected a client request frame, got kind ${frame.kind}`);
  return decodeClientRequest(frame.body);
}

export function decodeClientResponseFrame(frame: Frame): ClientResponse {
  if (frame.kind !== FrameKind.ClientResponse) throw protocolError(`expected a client response frame, got kind ${frame.kind}`);
  return decodeClientResponse(frame.body);
}
