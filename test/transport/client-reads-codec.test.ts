/** The range read of the client protocol (op/kind 21, client-reads-codec.ts): round trips, misuse, malformed bytes. */
import { describe, expect, it } from 'vitest';
import { expectProtocolError } from './protocol-error.js';
import { decodeClientRequest, decodeClientResponse, encodeClientRequest, encodeClientResponse, type ClientRequest, type ClientResponse } from '../../src/transport/client-codec.js';
import { FRAME_HEADER_BYTES } from '../../src/transport/frame.js';

const body = (frame: Buffer): Buffer => Buffer.from(frame.subarray(FRAME_HEADER_BYTES));

const request: Extract<ClientRequest, { op: 'readRange' }> = {
  id: 9,
  group: 3,
  op: 'readRange',
  from: 2 ** 40,
  limit: 500,
  maxBytes: 65_536,
  waitMs: 1000,
  consistency: 'follower',
  maxLagMs: 250,
  includeSystem: true,
};

const response: Extract<ClientResponse, { kind: 'entries' }> = {
  id: 9,
  kind: 'entries',
  commitIndex: 40,
  next: 31,
  entries: [
    { index: 27, term: 2, pos: 0, type: 'noop', payload: Buffer.alloc(0) },
    { index: 28, term: 2, pos: 100, type: 'normal', payload: Buffer.from('a') },
    { index: 30, term: 3, pos: 2 ** 45, type: 'config', payload: Buffer.from('config') },
  ],
};

describe('readRange request (op 21)', () => {
  it('round-trips every field and consistency', () => {
    for (const consistency of ['linearizable', 'lease', 'follower'] as const) {
      for (const includeSystem of [false, true]) {
        const r = { ...request, consistency, includeSystem };
        const frame = encodeClientRequest(r);
        expect(frame[FRAME_HEADER_BYTES + 8]).toBe(21);
        expect(decodeClientRequest(body(frame))).toEqual(r);
      }
    }
  });

  it('refuses misuse at encode', () => {
    expect(() => encodeClientRequest({ ...request, from: 0 })).toThrow(RangeError);
    expect(() => encodeClientRequest({ ...request, limit: 0 })).toThrow(RangeError);
    expect(() => encodeClientRequest({ ...request, maxBytes: 2 ** 32 })).toThrow(RangeError);
    expect(() => encodeClientRequest({ ...request, from: 1.5 })).toThrow(RangeError);
    expect(() => encodeClientRequest({ ...request, consistency: 'strong' as never })).toThrow(RangeError);
    expect(() => encodeClientRequest({ ...request, includeSystem: 1 as never })).toThrow(TypeError);
  });

  it('decodes malformed bytes as ERR_PROTOCOL', () => {
    const good = body(encodeClientRequest(request));
    const at = (offset: number, value: number): Buffer => {
      const b = Buffer.from(good);
      b[offset] = value;
      return b;
    };
    const FROM = 9;
    expectProtocolError(() => decodeClientRequest(Buffer.concat([good, Buffer.from([0])]))); // trailing byte
    expectProtocolError(() => decodeClientRequest(good.subarray(0, good.length - 1))); // short
    expectProtocolError(() => decodeClientRequest(Buffer.from(Buffer.concat([good.subarray(0, FROM), Buffer.alloc(8), good.subarray(FROM + 8)])))); // from 0
    expectProtocolError(() => decodeClientRequest(at(FROM + 20, 0))); // consistency 0
    expectProtocolError(() => decodeClientRequest(at(FROM + 20, 4))); // consistency 4
    expectProtocolError(() => decodeClientRequest(at(FROM + 25, 2))); // unknown flag bit
    expectProtocolError(() => decodeClientRequest(at(8, 22))); // an op of the reads range not defined yet
    expectProtocolError(() => decodeClientRequest(at(8, 30)));
  });
});

describe('entries response (kind 21)', () => {
  it('round-trips entries, an empty answer and large positions', () => {
    const decoded = decodeClientResponse(body(encodeClientResponse(response)));
    expect(decoded).toEqual(response);
    const empty = { ...response, next: 7, entries: [] };
    expect(decodeClientResponse(body(encodeClientResponse(empty)))).toEqual(empty);
  });

  it('refuses misuse at encode', () => {
    expect(() => encodeClientResponse({ ...response, entries: [{ ...response.entries[0]!, type: 4 as never }] })).toThrow(RangeError);
    expect(() => encodeClientResponse({ ...response, next: -1 })).toThrow(RangeError);
    expect(() => encodeClientResponse(response, 64)).toThrow(RangeError); // over the frame cap
  });

  it('decodes malformed bytes as ERR_PROTOCOL: order, next, type, counts, trailing bytes', () => {
    const enc = (r: typeof response): Buffer => body(encodeClientResponse(r));
    const e = response.entries;
    // Encode out-of-contract answers by hand-editing a valid one.
    const good = enc(response);
    const HEAD = 5;
    const patchU64 = (b: Buffer, offset: number, v: number): Buffer => {
      const c = Buffer.from(b);
      c.writeUInt32LE(v % 2 ** 32, offset);
      c.writeUInt32LE(Math.floor(v / 2 ** 32), offset + 4);
      return c;
    };
    expectProtocolError(() => decodeClientResponse(patchU64(good, HEAD + 8, 0))); // next 0
    expectProtocolError(() => decodeClientResponse(patchU64(good, HEAD + 8, 30))); // entry 30 not below next
    const FIRST = HEAD + 20;
    expectProtocolError(() => decodeClientResponse(patchU64(good, FIRST, 28))); // 28, 28: not increasing
    const typeAt = FIRST + 24;
    const badType = Buffer.from(good);
    badType[typeAt] = 0;
    expectProtocolError(() => decodeClientResponse(badType));
    const count = Buffer.from(good);
    count.writeUInt32LE(1_000_000, HEAD + 16);
    expectProtocolError(() => decodeClientResponse(count));
    expectProtocolError(() => decodeClientResponse(Buffer.concat([good, Buffer.from([1])])));
    expectProtocolError(() => decodeClientResponse(good.subarray(0, good.length - 1)));
    expect(e).toHaveLength(3);
  });
});
