import { describe, expect, it } from 'vitest';
import { expectProtocolError } from './protocol-error.js';
import type { Message } from '../../src/raft/types.js';
import {
  decodeClientRequest,
  decodeClientResponse,
  encodeClientRequest,
  encodeClientResponse,
  type ClientRequest,
  type ClientResponse,
} from '../../src/transport/client-codec.js';
import { FrameKind, FrameReader, type Frame } from '../../src/transport/frame.js';
import { decodeHandshake, decodeReject, encodeHandshake, encodeReject, TRANSPORT_VERSION } from '../../src/transport/handshake.js';
import {
  decodeRaftFrame,
  decodeRaftMessage,
  encodeRaftBatch,
  encodeRaftMessage,
  raftFrameSize,
  type WireEntry,
} from '../../src/transport/raft-codec.js';
import { everyMessage, makeEntries, makeEntry, makeRecord, normalize } from './helpers.js';

function oneFrame(bytes: Buffer): Frame {
  const reader = new FrameReader();
  const frames = [...reader.frames(bytes)];
  expect(frames).toHaveLength(1);
  expect(reader.bufferedBytes).toBe(0);
  return frames[0]!;
}

const NODE_IDS: [string, string][] = [
  ['a', 'b'],
  ['node-1', 'node-2'],
  ['ノード一', 'узел-2'],
  ['🦊fox', 'é'],
  ['x'.repeat(255), 'ü'.repeat(127)],
];
const GROUPS = [0, 1, 7, 65_535, 0xffff_ffff];

describe('raft codec', () => {
  it('round-trips every message type, group id and node id', () => {
    let checked = 0;
    for (const [from, to] of NODE_IDS) {
      for (const group of GROUPS) {
        for (const message of everyMessage(from, to)) {
          const bytes = encodeRaftMessage(group, message);
          expect(bytes.length).toBe(raftFrameSize(message));
          const frame = oneFrame(bytes);
          expect(frame.kind).toBe(FrameKind.Raft);
          const decoded = decodeRaftFrame(frame);
          expect(decoded.group).toBe(group);
          expect(normalize(decoded.message)).toEqual(normalize(message));
          // Canonical: re-encoding the decoded message gives the same bytes.
          expect(encodeRaftMessage(decoded.group, decoded.message).equals(bytes)).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBe(NODE_IDS.length * GROUPS.length * 21);
  });

  it('carries entry records verbatim, as views of the frame', () => {
    const entries = makeEntries(9, 5, 3);
    const message: Message = { type: 'append', from: 'a', to: 'b', term: 3, prevIndex: 9, prevTerm: 2, entries, commit: 9 };
    const bytes = encodeRaftMessage(5, message);
    const frame = oneFrame(bytes);
    const { message: out } = decodeRaftMessage(frame.body);
    if (out.type !== 'append') throw new Error('expected append');
    expect(out.entries).toHaveLength(5);
    out.entries.forEach((e, i) => {
      const w = e as WireEntry;
      const original = entries[i]!;
      expect(Buffer.from(w.record).equals(Buffer.from(original.record))).toBe(true);
      expect(w.record.buffer).toBe(bytes.buffer); // a view, not a copy
      expect(w.data.byteOffset).toBe(w.record.byteOffset + 48);
      expect(Buffer.from(w.data).equals(Buffer.from(original.data))).toBe(true);
      expect([w.index, w.term, w.type]).toEqual([original.index, original.term, original.type]);
    });
    // The records sit back to back at the end of the frame, unchanged.
    const all = Buffer.concat(entries.map((e) => e.record));
    expect(bytes.subarray(bytes.length - all.length).equals(all)).toBe(true);
  });

  it('never encodes the local delivery annotations', () => {
    const plain: Message = { type: 'heartbeat', from: 'a', to: 'b', term: 4, commit: 3 };
    const annotated: Message = { ...plain, waitForHardState: true, waitForDurableIndex: 17 };
    const bytes = encodeRaftMessage(1, annotated);
    expect(bytes.equals(encodeRaftMessage(1, plain))).toBe(true);
    const out = decodeRaftMessage(oneFrame(bytes).body).message;
    expect('waitForHardState' in out).toBe(false);
    expect('waitForDurableIndex' in out).toBe(false);
  });

  it('encodes a batch as frames back to back in one buffer', () => {
    const items = everyMessage('a', 'b').map((message, i) => ({ group: i * 3, message }));
    const bytes = encodeRaftBatch(items);
    const frames = [...new FrameReader().frames(bytes)];
    expect(frames.map((f) => decodeRaftFrame(f)).map((d) => ({ group: d.group, message: normalize(d.message) }))).toEqual(
      items.map((d) => ({ group: d.group, message: normalize(d.message) })),
    );
  });

  it('encodes a batch sized when it was queued to the same bytes, and refuses a size that does not match', () => {
    const items = everyMessage('a', 'b').map((message, i) => ({ group: i, message }));
    const sized = items.reduce((n, d) => n + raftFrameSize(d.message), 0);
    expect(encodeRaftBatch(items, sized).equals(encodeRaftBatch(items))).toBe(true);
    expect(() => encodeRaftBatch(items, sized + 1)).toThrow(RangeError);
    expect(() => encodeRaftBatch(items, sized - 1)).toThrow(RangeError);
  });

  it('rejects driver bugs at encode time with TypeError/RangeError', () => {
    const noRecord = { index: 1, term: 1, type: 1, data: new Uint8Array(3) } as const;
    const base = { type: 'append', from: 'a', to: 'b', term: 1, prevIndex: 0, prevTerm: 0, commit: 0 } as const;
    expect(() => encodeRaftMessage(0, { ...base, entries: [noRecord] })).toThrow(TypeError);
    expect(() => encodeRaftMessage(0, { ...base, entries: [makeEntry(2, 1, 1, Buffer.from('x'))] })).toThrow(TypeError);
    expect(() => encodeRaftMessage(0, { type: 'heartbeat', from: 'x'.repeat(256), to: 'b', term: 1, commit: 0 })).toThrow(RangeError);
    expect(() => encodeRaftMessage(0, { type: 'heartbeat', from: '', to: 'b', term: 1, commit: 0 })).toThrow(TypeError);
    expect(() => encodeRaftMessage(-1, { type: 'heartbeatResp', from: 'a', to: 'b', term: 1, epoch: 0 })).toThrow(RangeError);
    expect(() => encodeRaftMessage(0, { type: 'heartbeatResp', from: 'a', to: 'b', term: 1, epoch: -1 })).toThrow(RangeError);
    expect(() => encodeRaftMessage(0, { type: 'appendResp', from: 'a', to: 'b', term: 1, index: 0, reject: false, rejectHint: 0, hintTerm: 0, epoch: 2 ** 53 })).toThrow(RangeError);
    expect(() => encodeRaftMessage(0, { type: 'heartbeat', from: 'a', to: 'b', term: 2 ** 53, commit: 0 })).toThrow(RangeError);
  });

  it('rejects structurally broken append frames with ERR_PROTOCOL', () => {
    const entries = makeEntries(0, 2, 1);
    const good = encodeRaftMessage(0, { type: 'append', from: 'a', to: 'b', term: 1, prevIndex: 0, prevTerm: 0, entries, commit: 0 });
    const body = oneFrame(good).body;
    const firstRecord = body.length - entries[0]!.record.byteLength - entries[1]!.record.byteLength;
    const mutate = (fn: (b: Buffer) => void): Buffer => {
      const copy = Buffer.from(body);
      fn(copy);
      return copy;
    };
    expectProtocolError(() => decodeRaftMessage(mutate((b) => b.writeUInt32LE(3, firstRecord + 16))), /out of sequence/);
    expectProtocolError(() => decodeRaftMessage(mutate((b) => b.writeUInt32LE(999, firstRecord + 8))), /totalSize/);
    expectProtocolError(() => decodeRaftMessage(mutate((b) => (b[firstRecord + 5] = 0))), /record type 0/);
    expectProtocolError(() => decodeRaftMessage(mutate((b) => (b[firstRecord] = b[firstRecord]! ^ 1))), /magic/);
    expectProtocolError(() => decodeRaftMessage(mutate((b) => b.writeUInt32LE(3, firstRecord - 4))), /cannot fit|overruns|truncated/);
    expectProtocolError(() => decodeRaftMessage(Buffer.concat([body, Buffer.from([0])])), /trailing/);
    expectProtocolError(() => decodeRaftMessage(body.subarray(0, body.length - 1)), /overruns|truncated/);
    expectProtocolError(() => decodeRaftMessage(mutate((b) => (b[4] = 42))), /unknown type 42/);
    expectProtocolError(() => decodeRaftMessage(mutate((b) => (b[5] = 1))), /flags/);
    expectProtocolError(() => decodeRaftMessage(mutate((b) => b.writeUInt32LE(0x0020_0000, 10))), /2\^53/);
  });

  it('is the one structure check of received records: flags, reserved and term order too (storage/records.ts)', () => {
    const entries = [makeEntry(1, 2, 1, Buffer.from('a')), makeEntry(2, 3, 1, Buffer.from('b'))];
    const good = encodeRaftMessage(0, { type: 'append', from: 'a', to: 'b', term: 3, prevIndex: 0, prevTerm: 0, entries, commit: 0 });
    const body = oneFrame(good).body;
    const firstRecord = body.length - entries[0]!.record.byteLength - entries[1]!.record.byteLength;
    const secondRecord = firstRecord + entries[0]!.record.byteLength;
    const mutate = (fn: (b: Buffer) => void): Buffer => {
      const copy = Buffer.from(body);
      fn(copy);
      return copy;
    };
    expect(decodeRaftMessage(body).message.type).toBe('append');
    expectProtocolError(() => decodeRaftMessage(mutate((b) => b.writeUInt16LE(1, firstRecord + 6))), /flags/);
    expectProtocolError(() => decodeRaftMessage(mutate((b) => b.writeUInt32LE(1, secondRecord + 40))), /reserved/);
    expectProtocolError(() => decodeRaftMessage(mutate((b) => b.writeUInt32LE(1, secondRecord + 24))), /below the previous term 2/);
    expectProtocolError(() => decodeRaftMessage(mutate((b) => b.writeUInt32LE(0x0020_0000, secondRecord + 36))), /pos exceeds/);
    expectProtocolError(() => decodeRaftMessage(mutate((b) => (b[secondRecord + 4] = 9))), /record version 9/);
  });

  it('carries the log epoch of appendResp and heartbeatResp as the last u64 of the body', () => {
    const ack: Message = { type: 'appendResp', from: 'a', to: 'b', term: 4, index: 9, reject: true, rejectHint: 7, hintTerm: 3, epoch: 2 ** 41 + 5 };
    const hb: Message = { type: 'heartbeatResp', from: 'a', to: 'b', term: 4, epoch: 1_764_619_200_123 };
    for (const m of [ack, hb]) {
      const body = oneFrame(encodeRaftMessage(0, m)).body;
      const epoch = (m as { epoch: number }).epoch;
      expect(body.readUInt32LE(body.length - 8) + body.readUInt32LE(body.length - 4) * 2 ** 32).toBe(epoch);
      expect(decodeRaftMessage(body).message).toEqual(m);
      // A body without the epoch (the transport version 1 layout) is a protocol error, not a zero epoch.
      expectProtocolError(() => decodeRaftMessage(body.subarray(0, body.length - 8)), /truncated|epoch/);
      const big = Buffer.from(body);
      big.writeUInt32LE(0x0020_0000, body.length - 4);
      expectProtocolError(() => decodeRaftMessage(big), /2\^53/);
    }
  });

  it('does not check CRCs (the storage layer does)', () => {
    const record = makeRecord(1, 1, 1, Buffer.from('payload'), 0, 0x12345678);
    const entry: WireEntry = { index: 1, term: 1, type: 1, data: record.subarray(48), record };
    const bytes = encodeRaftMessage(0, { type: 'append', from: 'a', to: 'b', term: 1, prevIndex: 0, prevTerm: 0, entries: [entry], commit: 0 });
    const out = decodeRaftMessage(oneFrame(bytes).body).message;
    expect(out.type === 'append' && Buffer.from(out.entries[0]!.data).toString()).toBe('payload');
  });
});

describe('client codec', () => {
  const requests: ClientRequest[] = [
    { id: 0, group: 0, op: 'append', payloads: [Buffer.from('one')] },
    { id: 0xffff_ffff, group: 12, op: 'append', payloads: [Buffer.alloc(0), Buffer.from('two'), Buffer.alloc(1000, 7)] },
    { id: 5, group: 1, op: 'read', index: 2 ** 50 },
    { id: 6, group: 2, op: 'status' },
  ];
  const responses: ClientResponse[] = [
    { id: 1, kind: 'append', ok: [] },
    { id: 2, kind: 'append', ok: [{ index: 1, pos: 0 }, { index: 2 ** 52, pos: 2 ** 40 + 3 }] },
    { id: 3, kind: 'read', entry: { index: 9, term: 2, pos: 4096, type: 'normal', payload: Buffer.from('héllo') } },
    { id: 4, kind: 'read', entry: null },
    { id: 5, kind: 'status', status: { role: 'leader', term: 3, peers: { b: { match: 10 } }, name: 'ノード' } },
    { id: 6, kind: 'error', error: { code: 'ERR_TIMEOUT', message: 'timed out', retriable: true } },
    { id: 7, kind: 'error', error: { code: 'ERR_NOT_LEADER', message: 'ask b', retriable: true, leaderHint: { id: 'b' } } },
    { id: 8, kind: 'error', error: { code: 'ERR_NOT_LEADER', message: '', retriable: true, leaderHint: { id: 'b', address: '127.0.0.2:7000' } } },
    { id: 9, kind: 'error', error: { code: 'ERR_LOG_CORRUPT', message: 'über', retriable: false } },
  ];
  const plain = (v: unknown): unknown =>
    JSON.parse(JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array || (x as { type?: string })?.type === 'Buffer' ? Buffer.from(x as Uint8Array).toString('hex') : x)));

  it('round-trips every request and response', () => {
    for (const req of requests) {
      const frame = oneFrame(encodeClientRequest(req));
      expect(frame.kind).toBe(FrameKind.ClientRequest);
      expect(plain(decodeClientRequest(frame.body))).toEqual(plain(req));
    }
    for (const res of responses) {
      const frame = oneFrame(encodeClientResponse(res));
      expect(frame.kind).toBe(FrameKind.ClientResponse);
      expect(plain(decodeClientResponse(frame.body))).toEqual(plain(res));
    }
  });

  it('rejects misuse at encode time and malformed bodies with ERR_PROTOCOL', () => {
    expect(() => encodeClientRequest({ id: 1, group: 0, op: 'append', payloads: [] })).toThrow(TypeError);
    expect(() => encodeClientRequest({ id: 1, group: 0, op: 'append', payloads: [Buffer.alloc(5000)] }, 4096)).toThrow(RangeError);
    expect(() => encodeClientResponse({ id: 1, kind: 'error', error: { code: 'lower', message: '', retriable: false } })).toThrow(TypeError);
    const body = oneFrame(encodeClientRequest(requests[1]!)).body;
    expectProtocolError(() => decodeClientRequest(body.subarray(0, body.length - 1)), /truncated/);
    const zero = Buffer.from(body.subarray(0, 13));
    zero.writeUInt32LE(0, 9);
    expectProtocolError(() => decodeClientRequest(zero), /without payloads/);
    const badOp = Buffer.from(body);
    badOp[8] = 9;
    expectProtocolError(() => decodeClientRequest(badOp), /unknown op/);
    const status = oneFrame(encodeClientResponse(responses[4]!)).body;
    const broken = Buffer.from(status);
    broken[broken.length - 1] = 0x20; // '}' -> ' '
    expectProtocolError(() => decodeClientResponse(broken), /JSON/);
    const arr = Buffer.alloc(5 + 4 + 2);
    arr[4] = 4;
    arr.writeUInt32LE(2, 5);
    arr.write('[]', 9);
    expectProtocolError(() => decodeClientResponse(arr), /not a JSON object/);
    const badUtf8 = Buffer.from(oneFrame(encodeClientResponse(responses[8]!)).body);
    badUtf8[badUtf8.length - 1] = 0xff;
    expectProtocolError(() => decodeClientResponse(badUtf8), /UTF-8/);
  });
});

describe('handshake codec', () => {
  it('round-trips handshakes and rejects', () => {
    const h = { clusterId: 'prod-🦊', clusterUid: '0123456789abcdef', segmentSizeBytes: 2 ** 40, nodeId: 'n1', targetId: 'n2' };
    const frame = oneFrame(encodeHandshake(h));
    expect(frame.kind).toBe(FrameKind.Handshake);
    expect(decodeHandshake(frame.body)).toEqual({ ...h, transportVersion: TRANSPORT_VERSION });
    expect(TRANSPORT_VERSION).toBe(6); // 2: Raft answers carry the log epoch; 3: logStart/logStartResp; 4: heartbeat read flag; 5: cluster uid (and repair/membership frames); 6: commit-only appends
    const r = oneFrame(encodeReject('nope: ' + 'x'.repeat(2000)));
    expect(r.kind).toBe(FrameKind.Reject);
    expect(decodeReject(r.body)).toMatch(/^nope: x+$/);
    expect(r.body.length).toBeLessThanOrEqual(1024);
    const bad = Buffer.from(frame.body);
    bad[0] = 1; // a peer from before the log epoch
    expectProtocolError(() => decodeHandshake(bad), /transport version 1 \(expected 6\)/);
    bad[0] = 4; // a peer from before the cluster uid
    expectProtocolError(() => decodeHandshake(bad), /transport version 4 \(expected 6\)/);
    bad[0] = 5; // a peer from before commit-only appends
    expectProtocolError(() => decodeHandshake(bad), /transport version 5 \(expected 6\)/);
  });
});

describe('raft codec: commit-only appends (flag bit 5, TRANSPORT_VERSION 6)', () => {
  const m: Message = { type: 'append', from: 'a', to: 'b', term: 3, prevIndex: 7, prevTerm: 2, entries: [], commit: 7, commitOnly: true };
  it('carries the flag of an empty append, and only when set', () => {
    const body = Buffer.from(oneFrame(encodeRaftMessage(0, m)).body);
    expect(body[5]).toBe(32);
    expect(decodeRaftMessage(body).message).toEqual(m);
    const plain = decodeRaftMessage(Buffer.from(oneFrame(encodeRaftMessage(0, { ...m, commitOnly: undefined })).body)).message;
    expect(plain.type === 'append' && plain.commitOnly).toBe(undefined);
  });
  it('refuses the flag with entries, at encode time and on the wire', () => {
    // raftFrameSize validates for the send queue, which encodes later and must not throw then.
    expect(() => raftFrameSize({ ...m, entries: makeEntries(7, 1, 3) } as Message)).toThrow(RangeError);
    expect(() => encodeRaftMessage(0, { ...m, entries: makeEntries(7, 1, 3) } as Message)).toThrow(RangeError);
    const withEntries = Buffer.from(oneFrame(encodeRaftMessage(0, { type: 'append', from: 'a', to: 'b', term: 3, prevIndex: 7, prevTerm: 2, entries: makeEntries(7, 1, 3), commit: 7 })).body);
    withEntries[5] = 32;
    expectProtocolError(() => decodeRaftMessage(withEntries), /commit-only append with 1 entries/);
  });
});

describe('raft codec: log start', () => {
  it('refuses a logStart whose chunk ends past snapshotSize, or is longer than the frame', () => {
    const m: Message = { type: 'logStart', from: 'a', to: 'b', term: 2, index: 9, logTerm: 2, pos: 100, snapshotVersion: 1, snapshotSize: 4, offset: 0, chunk: Uint8Array.from([1, 2, 3, 4]) };
    const bytes = encodeRaftMessage(0, m);
    const body = Buffer.from(oneFrame(bytes).body);
    // snapshotSize is the 5th u64 after the ids: fixed 14 + 2 + 1 + 1 ('a','b') = 18, then 4 * 8.
    body.writeUInt32LE(3, 18 + 32);
    expectProtocolError(() => decodeRaftMessage(body), /past snapshotSize/);
    const body2 = Buffer.from(oneFrame(bytes).body);
    body2.writeUInt32LE(1000, 18 + 48);
    expectProtocolError(() => decodeRaftMessage(body2), /cannot fit/);
    expect(() => encodeRaftMessage(0, { ...m, snapshotSize: 2 })).toThrow(RangeError);
  });
  it('carries the committed configuration of a logStart (flag bit 4) and refuses one longer than the frame', () => {
    const conf = Uint8Array.from([1, 1, 0, 0, 0, 1, 97, 0, 0]);
    const m: Message = { type: 'logStart', from: 'a', to: 'b', term: 2, index: 9, logTerm: 2, pos: 100, snapshotVersion: 1, snapshotSize: 4, offset: 0, chunk: Uint8Array.from([1, 2, 3, 4]), conf };
    const body = Buffer.from(oneFrame(encodeRaftMessage(0, m)).body);
    const back = decodeRaftMessage(body).message;
    expect(back.type === 'logStart' && Array.from(back.conf ?? [])).toEqual(Array.from(conf));
    const without = decodeRaftMessage(Buffer.from(oneFrame(encodeRaftMessage(0, { ...m, conf: undefined })).body)).message;
    expect(without.type === 'logStart' && without.conf).toBe(undefined);
    body.writeUInt32LE(1000, 18 + 48 + 4 + 4);
    expectProtocolError(() => decodeRaftMessage(body), /cannot fit/);
  });
});

describe('client protocol: exactly-once ops (10 idempotent append, 11 producer id, 12 resent idempotent append; response kind 10)', () => {
  const oneBody = (bytes: Buffer): Buffer => oneFrame(bytes).body;
  it('round-trips the producer stamp, the producer id request and its answer', () => {
    const req: ClientRequest = { id: 3, group: 2, op: 'append', payloads: [Buffer.from('a'), Buffer.from('bc')], producer: { producerId: 2 ** 52 + 7, epoch: 0xffff_fffe, sequence: 2 ** 40 } };
    const back = decodeClientRequest(oneBody(encodeClientRequest(req)));
    expect(back).toMatchObject({ id: 3, group: 2, op: 'append', producer: req.op === 'append' ? req.producer : undefined });
    expect(oneBody(encodeClientRequest(req))[8]).toBe(10);
    expect(decodeClientRequest(oneBody(encodeClientRequest({ id: 4, group: 0, op: 'producerId' })))).toEqual({ id: 4, group: 0, op: 'producerId' });
    const res: ClientResponse = { id: 4, kind: 'producerId', producerId: 2 ** 53 - 1, epoch: 5 };
    expect(decodeClientResponse(oneBody(encodeClientResponse(res)))).toEqual(res);
  });
  it('carries the retry mark as op 12 with the body of op 10, and only when set', () => {
    const stamp = { producerId: 9, epoch: 1, sequence: 0 };
    const first = oneBody(encodeClientRequest({ id: 5, group: 1, op: 'append', payloads: [Buffer.from('p')], producer: { ...stamp, retry: false } }));
    const resent = oneBody(encodeClientRequest({ id: 5, group: 1, op: 'append', payloads: [Buffer.from('p')], producer: { ...stamp, retry: true } }));
    expect([first[8], resent[8]]).toEqual([10, 12]);
    expect(resent.subarray(9)).toEqual(first.subarray(9));
    const back = decodeClientRequest(resent);
    expect(back.op === 'append' ? back.producer : undefined).toEqual({ ...stamp, retry: true });
    const plain = decodeClientRequest(first);
    expect(plain.op === 'append' ? plain.producer : undefined).toEqual(stamp);
  });
  it('refuses a zero or oversized producer id, and truncated stamps', () => {
    expect(() => encodeClientRequest({ id: 1, group: 0, op: 'append', payloads: [Buffer.from('x')], producer: { producerId: 0, epoch: 0, sequence: 0 } })).toThrow(RangeError);
    expect(() => encodeClientRequest({ id: 1, group: 0, op: 'append', payloads: [Buffer.from('x')], producer: { producerId: 1, epoch: 2 ** 32, sequence: 0 } })).toThrow(RangeError);
    const body = oneBody(encodeClientRequest({ id: 1, group: 0, op: 'append', payloads: [Buffer.from('x')], producer: { producerId: 1, epoch: 0, sequence: 0 } }));
    const zero = Buffer.from(body);
    zero.fill(0, 9, 17);
    expectProtocolError(() => decodeClientRequest(zero), /producerId 0/);
    const huge = Buffer.from(body);
    huge.writeUInt32LE(0xffff_ffff, 13);
    expectProtocolError(() => decodeClientRequest(huge));
    expectProtocolError(() => decodeClientRequest(body.subarray(0, 20)), /truncated/);
  });
});
