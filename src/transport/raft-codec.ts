/**
 * Binary codec for the Raft messages of src/raft/types.ts, one message per
 * frame of kind FrameKind.Raft (see frame.ts for the 6-byte frame header).
 * All integers little-endian; u64 values must be safe integers (< 2^53).
 *
 * Frame body:
 *
 *   off  size  field
 *   0    4     group     u32 Raft group id
 *   4    1     type      1 append, 2 appendResp, 3 heartbeat, 4 heartbeatResp,
 *                        5 vote, 6 preVote, 7 voteResp, 8 preVoteResp, 9 timeoutNow,
 *                        10 logStart, 11 logStartResp
 *   5    1     flags     bit 0 reject (appendResp, voteResp, preVoteResp)
 *                        bit 1 transfer (vote, preVote)
 *                        bit 2 done (logStartResp)
 *                        bit 3 read (heartbeat, heartbeatResp): a u64 readSeq follows
 *                        the type's fields (src/raft/read-only.ts)
 *                        bit 4 conf, bit 6 producers (logStart, below)
 *                        bit 5 commit only (append with count 0: AppendMessage.commitOnly,
 *                        answered only by a rejection); every other bit must be 0
 *   6    8     term      u64
 *   14   1+n   from      u8 length n (1..255) + UTF-8 node id
 *   ..   1+m   to        u8 length m (1..255) + UTF-8 node id
 *   then, by type:
 *     append         u64 prevIndex, u64 prevTerm, u64 commit, u32 count,
 *                    then `count` on-disk records back to back, verbatim
 *                    (48-byte header + body, docs/FORMAT.md)
 *     appendResp     u64 index, u64 rejectHint, u64 hintTerm, u64 epoch
 *     heartbeat      u64 commit [, u64 readSeq if bit 3]
 *     heartbeatResp  u64 epoch [, u64 readSeq if bit 3]
 *     vote, preVote  u64 lastIndex, u64 lastTerm
 *     logStart       u64 index, u64 logTerm, u64 pos, u64 snapshotVersion,
 *                    u64 snapshotSize, u64 offset, u32 n, n chunk bytes
 *                    (offset + n <= snapshotSize); with flag bit 4 (16)
 *                    then u32 c, c bytes: a Config entry body (docs/FORMAT.md);
 *                    with flag bit 6 (64), after that, u32 p, p bytes: the leader's
 *                    committed producer base (docs/FORMAT.md "Producer table file")
 *     logStartResp   u64 index, u64 snapshotVersion, u64 offset, u64 epoch
 *     others         nothing
 *   (epoch, the follower's log epoch, came with TRANSPORT_VERSION 2; logStart
 *   and logStartResp with version 3; the read flag with version 4; the commit-only flag
 *   with version 6; handshake.ts.)
 *   The body must end exactly there (trailing bytes are a protocol error).
 *
 * The local annotations waitForHardState / waitForDurableIndex are never encoded.
 *
 * Entries travel as their on-disk records, attached by the driver as
 * `entry.record`; the encoder copies them with one Buffer.set each. The
 * decoder returns entries whose `record` is a view of the frame body and whose
 * `data` is `record.subarray(HEADER_SIZE_BYTES)`. The decoder is the one
 * structure check of a received record (storage/records.ts checkDataRecord:
 * magic, version, type, flags, sizes within the frame, indexes consecutive
 * from prevIndex + 1, terms non-decreasing); it does not check CRCs (the
 * replica does, once, before the Raft core sees the entries).
 */
import type { Entry, LogStartMessage, Message } from '../raft/types.js';
import { HEADER_SIZE_BYTES } from '../storage/format.js';
import { checkDataRecord, recordIndex, recordTerm, recordTotalSize, recordType } from '../storage/records.js';
import { entryTypeOf } from './entry-types.js';
import { checkU32, checkU64, putBytes32, putStr8, putU64, shortUtf8, WireReader } from './bytes.js';
import { FRAME_HEADER_BYTES, FrameKind, protocolError, writeFrameHeader, type Frame } from './frame.js';

/** An entry as the transport carries it: with its encoded on-disk record. */
export type WireEntry = Entry & { record: Uint8Array };

export interface RaftEnvelope {
  group: number;
  message: Message;
}

const TypeCode = {
  append: 1,
  appendResp: 2,
  heartbeat: 3,
  heartbeatResp: 4,
  vote: 5,
  preVote: 6,
  voteResp: 7,
  preVoteResp: 8,
  timeoutNow: 9,
  logStart: 10,
  logStartResp: 11,
} as const satisfies Record<Message['type'], number>;

const FLAG_REJECT = 1;
const FLAG_TRANSFER = 2;
const FLAG_DONE = 4;
const FLAG_READ = 8;
/** logStart: a Config entry body follows the chunk (u32 length, bytes): the leader's committed configuration (membership, issue 13). */
const FLAG_CONF = 16;
/** append: commit only (AppendMessage.commitOnly); only with no entries. */
const FLAG_COMMIT_ONLY = 32;
/** logStart: the leader's committed producer base follows (u32 length, bytes; exactly-once, issue 14; opaque here, decoded by the replica). */
const FLAG_PRODUCERS = 64;
/** group + type + flags + term + two length bytes. */
const FIXED_BYTES = 4 + 1 + 1 + 8 + 1 + 1;

function tailBytes(message: Message): number {
  switch (message.type) {
    case 'append':
      return 8 * 3 + 4;
    case 'appendResp':
      return 8 * 4;
    case 'heartbeat':
    case 'heartbeatResp':
      return message.readSeq === undefined ? 8 : 16;
    case 'vote':
    case 'preVote':
      return 8 * 2;
    case 'voteResp':
    case 'preVoteResp':
    case 'timeoutNow':
      return 0;
    case 'logStart':
      return 8 * 6 + 4 + message.chunk.byteLength + (message.conf === undefined ? 0 : 4 + message.conf.byteLength) + (message.producers === undefined ? 0 : 4 + message.producers.byteLength);
    case 'logStartResp':
      return 8 * 4;
    default:
      throw new TypeError(`unknown Raft message type ${String((message as { type?: unknown }).type)}`);
  }
}

function checkLogStart(m: LogStartMessage): void {
  checkU64(m.index, 'index');
  checkU64(m.logTerm, 'logTerm');
  checkU64(m.pos, 'pos');
  checkU64(m.snapshotVersion, 'snapshotVersion');
  checkU64(m.snapshotSize, 'snapshotSize');
  checkU64(m.offset, 'offset');
  if (!(m.chunk instanceof Uint8Array)) throw new TypeError('logStart.chunk must be a Uint8Array');
  if (m.offset + m.chunk.byteLength > m.snapshotSize) throw new RangeError('logStart: chunk ends past snapshotSize');
  if (m.producers !== undefined && !(m.producers instanceof Uint8Array)) throw new TypeError('logStart.producers must be a Uint8Array');
}

function recordOf(entry: Entry, expectedIndex: number): Uint8Array {
  const record = (entry as Partial<WireEntry>).record;
  if (!(record instanceof Uint8Array)) {
    throw new TypeError(`entry ${entry.index} has no encoded record (the driver must attach entry.record)`);
  }
  if (entry.index !== expectedIndex) {
    throw new TypeError(`entry index ${entry.index} out of sequence (expected ${expectedIndex})`);
  }
  if (record.byteLength < HEADER_SIZE_BYTES) {
    throw new TypeError(`entry ${entry.index}: record is ${record.byteLength} bytes, shorter than a header`);
  }
  if (recordTotalSize(record) !== record.byteLength || recordIndex(record) !== entry.index) {
    throw new TypeError(`entry ${entry.index}: its record header does not describe it`);
  }
  return record;
}

/**
 * Size of the complete frame (header included) that encodes `message`. Validates
 * the whole message (ids, numbers, entries' records): a message that passes
 * encodes without throwing. Misuse is a TypeError/RangeError.
 */
export function raftFrameSize(message: Message): number {
  const from = shortUtf8(message.from, 'message.from');
  const to = shortUtf8(message.to, 'message.to');
  let size = FRAME_HEADER_BYTES + FIXED_BYTES + from.length + to.length + tailBytes(message);
  checkU64(message.term, 'term');
  switch (message.type) {
    case 'append':
      checkU64(message.prevIndex, 'prevIndex');
      checkU64(message.prevTerm, 'prevTerm');
      checkU64(message.commit, 'commit');
      if (!Array.isArray(message.entries)) throw new TypeError('append.entries must be an array');
      if (message.commitOnly === true && message.entries.length > 0) throw new RangeError('append: commitOnly with entries');
      break;
    case 'appendResp':
      checkU64(message.index, 'index');
      checkU64(message.rejectHint, 'rejectHint');
      checkU64(message.hintTerm, 'hintTerm');
      checkU64(message.epoch, 'epoch');
      break;
    case 'heartbeat':
      checkU64(message.commit, 'commit');
      if (message.readSeq !== undefined) checkU64(message.readSeq, 'readSeq');
      break;
    case 'heartbeatResp':
      checkU64(message.epoch, 'epoch');
      if (message.readSeq !== undefined) checkU64(message.readSeq, 'readSeq');
      break;
    case 'vote':
    case 'preVote':
      checkU64(message.lastIndex, 'lastIndex');
      checkU64(message.lastTerm, 'lastTerm');
      break;
    case 'logStart':
      checkLogStart(message);
      break;
    case 'logStartResp':
      checkU64(message.index, 'index');
      checkU64(message.snapshotVersion, 'snapshotVersion');
      checkU64(message.offset, 'offset');
      checkU64(message.epoch, 'epoch');
      break;
    default:
      break;
  }
  if (message.type === 'append') {
    const entries = message.entries;
    let expected = message.prevIndex + 1;
    for (let i = 0; i < entries.length; i++) size += recordOf(entries[i]!, expected++).byteLength;
  }
  return size;
}

/**
 * Encode one message as a complete frame at `offset` of `target` (which must
 * have raftFrameSize(message) bytes there). Returns the offset after it.
 */
export function writeRaftFrame(target: Buffer, offset: number, group: number, message: Message): number {
  checkU32(group, 'group');
  const from = shortUtf8(message.from, 'message.from');
  const to = shortUtf8(message.to, 'message.to');
  const start = offset;
  let o = offset + FRAME_HEADER_BYTES;
  target.writeUInt32LE(group, o);
  const code = TypeCode[message.type] as number | undefined;
  if (code === undefined) throw new TypeError(`unknown Raft message type ${String(message.type)}`);
  target[o + 4] = code;
  let flags = 0;
  o = putU64(target, o + 6, checkU64(message.term, 'term'));
  o = putStr8(target, o, from);
  o = putStr8(target, o, to);
  switch (message.type) {
    case 'append': {
      o = putU64(target, o, checkU64(message.prevIndex, 'prevIndex'));
      o = putU64(target, o, checkU64(message.prevTerm, 'prevTerm'));
      o = putU64(target, o, checkU64(message.commit, 'commit'));
      const entries = message.entries;
      if (message.commitOnly === true) flags |= FLAG_COMMIT_ONLY;
      target.writeUInt32LE(entries.length, o);
      o += 4;
      let expected = message.prevIndex + 1;
      for (let i = 0; i < entries.length; i++) {
        const record = recordOf(entries[i]!, expected++);
        target.set(record, o);
        o += record.byteLength;
      }
      break;
    }
    case 'appendResp':
      if (message.reject) flags |= FLAG_REJECT;
      o = putU64(target, o, checkU64(message.index, 'index'));
      o = putU64(target, o, checkU64(message.rejectHint, 'rejectHint'));
      o = putU64(target, o, checkU64(message.hintTerm, 'hintTerm'));
      o = putU64(target, o, checkU64(message.epoch, 'epoch'));
      break;
    case 'heartbeat':
      o = putU64(target, o, checkU64(message.commit, 'commit'));
      if (message.readSeq !== undefined) {
        flags |= FLAG_READ;
        o = putU64(target, o, checkU64(message.readSeq, 'readSeq'));
      }
      break;
    case 'heartbeatResp':
      o = putU64(target, o, checkU64(message.epoch, 'epoch'));
      if (message.readSeq !== undefined) {
        flags |= FLAG_READ;
        o = putU64(target, o, checkU64(message.readSeq, 'readSeq'));
      }
      break;
    case 'vote':
    case 'preVote':
      if (message.transfer) flags |= FLAG_TRANSFER;
      o = putU64(target, o, checkU64(message.lastIndex, 'lastIndex'));
      o = putU64(target, o, checkU64(message.lastTerm, 'lastTerm'));
      break;
    case 'voteResp':
    case 'preVoteResp':
      if (message.reject) flags |= FLAG_REJECT;
      break;
    case 'timeoutNow':
      break;
    case 'logStart': {
      checkLogStart(message);
      o = putU64(target, o, message.index);
      o = putU64(target, o, message.logTerm);
      o = putU64(target, o, message.pos);
      o = putU64(target, o, message.snapshotVersion);
      o = putU64(target, o, message.snapshotSize);
      o = putU64(target, o, message.offset);
      o = putBytes32(target, o, message.chunk);
      if (message.conf !== undefined) {
        flags |= FLAG_CONF;
        o = putBytes32(target, o, message.conf);
      }
      if (message.producers !== undefined) {
        flags |= FLAG_PRODUCERS;
        o = putBytes32(target, o, message.producers);
      }
      break;
    }
    case 'logStartResp':
      if (message.done) flags |= FLAG_DONE;
      o = putU64(target, o, checkU64(message.index, 'index'));
      o = putU64(target, o, checkU64(message.snapshotVersion, 'snapshotVersion'));
      o = putU64(target, o, checkU64(message.offset, 'offset'));
      o = putU64(target, o, checkU64(message.epoch, 'epoch'));
      break;
  }
  target[start + FRAME_HEADER_BYTES + 5] = flags;
  writeFrameHeader(target, start, FrameKind.Raft, o - start - FRAME_HEADER_BYTES);
  return o;
}

/** One message as one complete frame (one allocation). */
export function encodeRaftMessage(group: number, message: Message): Buffer {
  const out = Buffer.allocUnsafe(raftFrameSize(message));
  writeRaftFrame(out, 0, group, message);
  return out;
}

/**
 * Many messages (e.g. everything for one peer in one event-loop turn) as frames back to back
 * in one Buffer. `knownSizeBytes`: the sum of their raftFrameSize, computed (and so
 * validated) when they were queued; without it they are sized and validated here.
 */
export function encodeRaftBatch(items: readonly RaftEnvelope[], knownSizeBytes?: number): Buffer {
  let size = knownSizeBytes ?? -1;
  if (size < 0) {
    size = 0;
    for (let i = 0; i < items.length; i++) size += raftFrameSize(items[i]!.message);
  }
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (let i = 0; i < items.length; i++) o = writeRaftFrame(out, o, items[i]!.group, items[i]!.message);
  if (o !== size) throw new RangeError(`encodeRaftBatch: the messages took ${o} bytes, not the ${size} given (changed after they were sized?)`);
  return out;
}

const TYPE_BY_CODE: readonly (Message['type'] | undefined)[] = (() => {
  const table: (Message['type'] | undefined)[] = [];
  for (const [name, code] of Object.entries(TypeCode)) table[code] = name as Message['type'];
  return table;
})();

const ALLOWED_FLAGS: Record<Message['type'], number> = {
  append: FLAG_COMMIT_ONLY,
  appendResp: FLAG_REJECT,
  heartbeat: FLAG_READ,
  heartbeatResp: FLAG_READ,
  vote: FLAG_TRANSFER,
  preVote: FLAG_TRANSFER,
  voteResp: FLAG_REJECT,
  preVoteResp: FLAG_REJECT,
  timeoutNow: 0,
  logStart: FLAG_CONF | FLAG_PRODUCERS,
  logStartResp: FLAG_DONE,
};

const WHAT = 'raft message';

/** Decode the body of a FrameKind.Raft frame. Throws ERR_PROTOCOL on anything malformed. */
export function decodeRaftMessage(body: Buffer): RaftEnvelope {
  const r = new WireReader(body, WHAT);
  const group = r.u32('group');
  const code = r.u8('type');
  const type = TYPE_BY_CODE[code];
  if (type === undefined) throw protocolError(`${WHAT}: unknown type ${code}`);
  const flags = r.u8('flags');
  if ((flags & ~ALLOWED_FLAGS[type]) !== 0) throw protocolError(`${WHAT}: flags 0x${flags.toString(16)} not valid for ${type}`);
  const term = r.u64('term');
  const from = r.str8('from', 1);
  const to = r.str8('to', 1);
  let message: Message;
  switch (type) {
    case 'append': {
      const prevIndex = r.u64('prevIndex');
      const prevTerm = r.u64('prevTerm');
      const commit = r.u64('commit');
      const count = r.u32('entry count');
      if ((flags & FLAG_COMMIT_ONLY) !== 0 && count > 0) throw protocolError(`${WHAT}: a commit-only append with ${count} entries`);
      if (count > Math.floor(r.remaining / HEADER_SIZE_BYTES)) {
        throw protocolError(`${WHAT}: ${count} entries cannot fit in ${r.remaining} bytes`);
      }
      if (prevIndex + count > Number.MAX_SAFE_INTEGER) throw protocolError(`${WHAT}: entry indexes exceed 2^53-1`);
      const entries: WireEntry[] = new Array<WireEntry>(count);
      let minTerm = 0;
      for (let i = 0; i < count; i++) {
        const entry = decodeRecord(r, body, prevIndex + 1 + i, minTerm);
        entries[i] = entry;
        minTerm = entry.term;
      }
      message = { type, from, to, term, prevIndex, prevTerm, entries, commit };
      if ((flags & FLAG_COMMIT_ONLY) !== 0) message.commitOnly = true;
      break;
    }
    case 'appendResp':
      message = {
        type,
        from,
        to,
        term,
        index: r.u64('index'),
        reject: (flags & FLAG_REJECT) !== 0,
        rejectHint: r.u64('rejectHint'),
        hintTerm: r.u64('hintTerm'),
        epoch: r.u64('epoch'),
      };
      break;
    case 'heartbeat':
      message = { type, from, to, term, commit: r.u64('commit') };
      if ((flags & FLAG_READ) !== 0) message.readSeq = r.u64('readSeq');
      break;
    case 'heartbeatResp':
      message = { type, from, to, term, epoch: r.u64('epoch') };
      if ((flags & FLAG_READ) !== 0) message.readSeq = r.u64('readSeq');
      break;
    case 'vote':
    case 'preVote':
      message = {
        type,
        from,
        to,
        term,
        lastIndex: r.u64('lastIndex'),
        lastTerm: r.u64('lastTerm'),
        transfer: (flags & FLAG_TRANSFER) !== 0,
      };
      break;
    case 'voteResp':
    case 'preVoteResp':
      message = { type, from, to, term, reject: (flags & FLAG_REJECT) !== 0 };
      break;
    case 'timeoutNow':
      message = { type, from, to, term };
      break;
    case 'logStart': {
      const index = r.u64('index');
      const logTerm = r.u64('logTerm');
      const pos = r.u64('pos');
      const snapshotVersion = r.u64('snapshotVersion');
      const snapshotSize = r.u64('snapshotSize');
      const offset = r.u64('offset');
      const n = r.u32('chunk length');
      if (n > r.remaining) throw protocolError(`${WHAT}: chunk of ${n} bytes cannot fit in ${r.remaining} bytes`);
      if (offset + n > snapshotSize) throw protocolError(`${WHAT}: logStart chunk ends past snapshotSize`);
      const chunk = r.bytes(n, 'snapshot chunk');
      const ls: LogStartMessage = { type, from, to, term, index, logTerm, pos, snapshotVersion, snapshotSize, offset, chunk };
      if ((flags & FLAG_CONF) !== 0) {
        const c = r.u32('conf length');
        if (c > r.remaining) throw protocolError(`${WHAT}: configuration of ${c} bytes cannot fit in ${r.remaining} bytes`);
        ls.conf = r.bytes(c, 'configuration');
      }
      if ((flags & FLAG_PRODUCERS) !== 0) {
        const p = r.u32('producers length');
        if (p > r.remaining) throw protocolError(`${WHAT}: producer base of ${p} bytes cannot fit in ${r.remaining} bytes`);
        ls.producers = r.bytes(p, 'producer base');
      }
      message = ls;
      break;
    }
    case 'logStartResp':
      message = {
        type,
        from,
        to,
        term,
        index: r.u64('index'),
        snapshotVersion: r.u64('snapshotVersion'),
        offset: r.u64('offset'),
        done: (flags & FLAG_DONE) !== 0,
        epoch: r.u64('epoch'),
      };
      break;
  }
  r.end();
  return { group, message };
}

function decodeRecord(r: WireReader, body: Buffer, expectedIndex: number, minTerm: number): WireEntry {
  const start = r.offset;
  const problem = checkDataRecord(body, start, r.remaining, expectedIndex, minTerm);
  if (problem !== undefined) {
    throw protocolError(`${WHAT}: entry ${expectedIndex} ${problem.detail}`);
  }
  const term = recordTerm(body, start);
  const type = entryTypeOf(recordType(body, start));
  const record = r.bytes(recordTotalSize(body, start), 'entry record');
  return { index: expectedIndex, term, type, data: record.subarray(HEADER_SIZE_BYTES), record };
}

/** Decode a frame that must be of kind Raft. */
export function decodeRaftFrame(frame: Frame): RaftEnvelope {
  if (frame.kind !== FrameKind.Raft) throw protocolError(`expected a Raft frame, got kind ${frame.kind}`);
  return decodeRaftMessage(frame.body);
}
