/**
 * logStart flag bit 6 (exactly-once appends, issue 14): the leader's producer base after the
 * chunk and the configuration. A frame without the flag decodes as before (no `producers`).
 */
import { describe, expect, it } from 'vitest';
import type { LogStartMessage } from '../../src/raft/index.js';
import { decodeRaftMessage, encodeRaftMessage } from '../../src/transport/raft-codec.js';
import { FRAME_HEADER_BYTES } from '../../src/transport/frame.js';

const base: LogStartMessage = { type: 'logStart', from: 'a', to: 'b', term: 3, index: 40, logTerm: 2, pos: 4096, snapshotVersion: 9, snapshotSize: 3, offset: 0, chunk: Buffer.from('abc') };
const roundTrip = (m: LogStartMessage): { frame: Buffer; back: LogStartMessage } => {
  const frame = encodeRaftMessage(1, m);
  return { frame, back: decodeRaftMessage(frame.subarray(FRAME_HEADER_BYTES)).message as LogStartMessage };
};

describe('logStart producers (flag bit 6)', () => {
  it('carries the bytes after conf, sets only bit 6 for them, and older frames decode without them', () => {
    const plain = roundTrip(base);
    expect(plain.back.producers).toBeUndefined();
    expect(plain.frame[FRAME_HEADER_BYTES + 5]).toBe(0);
    for (const conf of [undefined, Buffer.from('conf')]) {
      const m: LogStartMessage = { ...base, producers: Buffer.from([1, 2, 3, 4, 5]), ...(conf === undefined ? {} : { conf }) };
      const { frame, back } = roundTrip(m);
      expect(frame[FRAME_HEADER_BYTES + 5]).toBe(conf === undefined ? 64 : 64 | 16);
      expect(frame.byteLength).toBe(plain.frame.byteLength + 4 + 5 + (conf === undefined ? 0 : 8));
      expect(Buffer.from(back.producers!)).toEqual(Buffer.from([1, 2, 3, 4, 5]));
      expect(back.conf === undefined ? undefined : Buffer.from(back.conf)).toEqual(conf);
    }
  });

  it('a length past the frame, a missing field or trailing bytes are ERR_PROTOCOL', () => {
    const { frame } = roundTrip({ ...base, producers: Buffer.from([7, 7]) });
    const body = Buffer.from(frame.subarray(FRAME_HEADER_BYTES));
    const at = body.byteLength - 2 - 4;
    const long = Buffer.from(body);
    long.writeUInt32LE(3, at);
    expect(() => decodeRaftMessage(long)).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL' }));
    expect(() => decodeRaftMessage(body.subarray(0, at))).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL' }));
    const flagOnly = Buffer.from(roundTrip(base).frame.subarray(FRAME_HEADER_BYTES));
    flagOnly[5] = 64;
    expect(() => decodeRaftMessage(flagOnly)).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL' }));
    expect(() => decodeRaftMessage(Buffer.concat([body, Buffer.from([0])]))).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL' }));
  });
});
