/** Builders shared by the transport tests. Records are laid out per docs/FORMAT.md here, independently of src/storage. */
import type { Entry, EntryType, Message } from '../../src/raft/types.js';
import type { WireEntry } from '../../src/transport/raft-codec.js';

const TWO_32 = 0x1_0000_0000;

function u64(b: Buffer, off: number, v: number): void {
  b.writeUInt32LE(v >>> 0, off);
  b.writeUInt32LE(Math.floor(v / TWO_32), off + 4);
}

/** A 48-byte header + body record. The crc field is arbitrary: nothing in transport checks it. */
export function makeRecord(index: number, term: number, type: EntryType, data: Uint8Array, pos = index * 1000, crc = 0xdeadbeef): Buffer {
  const rec = Buffer.alloc(48 + data.byteLength);
  rec.writeUInt32LE(0x474c4652, 0); // magic "RFLG"
  rec[4] = 1; // version
  rec[5] = type;
  rec.writeUInt16LE(0, 6); // flags
  rec.writeUInt32LE(48 + data.byteLength, 8); // totalSize
  rec.writeUInt32LE(data.byteLength, 12); // bodySize
  u64(rec, 16, index);
  u64(rec, 24, term);
  u64(rec, 32, pos);
  rec.writeUInt32LE(0, 40); // reserved
  rec.writeUInt32LE(crc >>> 0, 44); // crc (not checked by the transport)
  rec.set(data, 48);
  return rec;
}

export function makeEntry(index: number, term: number, type: EntryType, data: Uint8Array): WireEntry {
  const record = makeRecord(index, term, type, data);
  return { index, term, type, data: record.subarray(48), record };
}

export function makeEntries(prevIndex: number, count: number, term: number, rnd: () => number = Math.random, maxBody = 64): WireEntry[] {
  const out: WireEntry[] = [];
  for (let i = 0; i < count; i++) {
    const body = Buffer.alloc(Math.floor(rnd() * maxBody));
    for (let j = 0; j < body.length; j++) body[j] = Math.floor(rnd() * 256);
    out.push(makeEntry(prevIndex + 1 + i, term, (1 + Math.floor(rnd() * 3)) as EntryType, body));
  }
  return out;
}

/** One message of every type (append with and without entries). */
export function everyMessage(from: string, to: string, rnd: () => number = Math.random): Message[] {
  const n = (max = 1e6): number => Math.floor(rnd() * max);
  const term = 1 + n();
  return [
    { type: 'append', from, to, term, prevIndex: 0, prevTerm: 0, entries: [], commit: 0 },
    { type: 'append', from, to, term, prevIndex: 41, prevTerm: term, entries: makeEntries(41, 3, term, rnd), commit: 40 },
    { type: 'append', from, to, term: Number.MAX_SAFE_INTEGER, prevIndex: 2 ** 40, prevTerm: 2 ** 33 + 1, entries: makeEntries(2 ** 40, 1, 7, rnd), commit: 2 ** 40 - 1 },
    { type: 'appendResp', from, to, term, index: n(), reject: false, rejectHint: 0, hintTerm: 0, epoch: n() },
    { type: 'appendResp', from, to, term, index: n(), reject: true, rejectHint: n(), hintTerm: n(), epoch: Number.MAX_SAFE_INTEGER },
    { type: 'heartbeat', from, to, term, commit: n() },
    { type: 'heartbeatResp', from, to, term, epoch: n() },
    { type: 'heartbeatResp', from, to, term, epoch: 1_764_619_200_000 },
    { type: 'vote', from, to, term, lastIndex: n(), lastTerm: n(), transfer: false },
    { type: 'vote', from, to, term, lastIndex: n(), lastTerm: n(), transfer: true },
    { type: 'preVote', from, to, term, lastIndex: n(), lastTerm: n(), transfer: true },
    { type: 'preVote', from, to, term, lastIndex: 0, lastTerm: 0, transfer: false },
    { type: 'voteResp', from, to, term, reject: true },
    { type: 'voteResp', from, to, term, reject: false },
    { type: 'preVoteResp', from, to, term, reject: true },
    { type: 'preVoteResp', from, to, term, reject: false },
    { type: 'timeoutNow', from, to, term },
    { type: 'logStart', from, to, term, index: n(), logTerm: n(), pos: 2 ** 40 + 48, snapshotVersion: 0, snapshotSize: 0, offset: 0, chunk: new Uint8Array(0) },
    { type: 'logStart', from, to, term, index: 9, logTerm: 2, pos: 4096, snapshotVersion: n(), snapshotSize: 10, offset: 3, chunk: Uint8Array.from([1, 2, 3, 4, 5, 6, 7]) },
    { type: 'logStartResp', from, to, term, index: n(), snapshotVersion: n(), offset: n(), done: false, epoch: n() },
    { type: 'logStartResp', from, to, term, index: n(), snapshotVersion: 0, offset: 0, done: true, epoch: Number.MAX_SAFE_INTEGER },
  ];
}

/** A message as the receiver sees it: entries reduced to their plain fields plus record bytes. */
export function normalize(message: Message): unknown {
  const { waitForHardState: _a, waitForDurableIndex: _b, ...rest } = message;
  if (rest.type === 'logStart') return { ...rest, chunk: Buffer.from(rest.chunk).toString('hex') };
  if (rest.type !== 'append') return rest;
  return {
    ...rest,
    entries: rest.entries.map((e: Entry) => ({
      index: e.index,
      term: e.term,
      type: e.type,
      data: Buffer.from(e.data).toString('hex'),
      record: Buffer.from((e as WireEntry).record).toString('hex'),
    })),
  };
}
