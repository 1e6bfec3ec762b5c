import { describe, expect, it } from 'vitest';
import { isRaftLedgerError } from '../../src/errors.js';
import { encodeFrame, FrameKind, FrameReader, type Frame } from '../../src/transport/frame.js';

function stream(): { bytes: Buffer; frames: { kind: number; body: string }[] } {
  const parts: [FrameKind, Buffer][] = [
    [FrameKind.Raft, Buffer.from('first frame')],
    [FrameKind.Handshake, Buffer.alloc(0)],
    [FrameKind.ClientRequest, Buffer.from([1, 2, 3])],
    [FrameKind.Raft, Buffer.from(Array.from({ length: 70 }, (_, i) => i))],
    [FrameKind.ClientResponse, Buffer.from('z')],
  ];
  return {
    bytes: Buffer.concat(parts.map(([k, b]) => encodeFrame(k, b))),
    frames: parts.map(([kind, body]) => ({ kind, body: body.toString('hex') })),
  };
}

function readAll(reader: FrameReader, chunks: Buffer[]): { kind: number; body: string }[] {
  const out: { kind: number; body: string }[] = [];
  for (const c of chunks) for (const f of reader.frames(c)) out.push({ kind: f.kind, body: f.body.toString('hex') });
  return out;
}

function protocolErrorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    expect(isRaftLedgerError(error, 'ERR_PROTOCOL'), String(error)).toBe(true);
    return error as Error;
  }
  throw new Error('expected ERR_PROTOCOL, nothing was thrown');
}

describe('FrameReader', () => {
  const { bytes, frames } = stream();

  it('parses one chunk, one-byte chunks, and every split into two and three chunks', () => {
    expect(readAll(new FrameReader(), [bytes])).toEqual(frames);
    expect(readAll(new FrameReader(), [...bytes].map((b) => Buffer.from([b])))).toEqual(frames);
    for (let i = 0; i <= bytes.length; i++) {
      const r = new FrameReader();
      expect(readAll(r, [bytes.subarray(0, i), bytes.subarray(i)]), `split at ${i}`).toEqual(frames);
      expect(r.bufferedBytes).toBe(0);
    }
    let cases = 0;
    for (let i = 1; i < bytes.length; i++) {
      for (let j = i + 1; j < bytes.length; j++) {
        const got = readAll(new FrameReader(), [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]);
        if (JSON.stringify(got) !== JSON.stringify(frames)) throw new Error(`split at ${i},${j}: ${JSON.stringify(got)}`);
        cases++;
      }
    }
    expect(cases).toBe(((bytes.length - 1) * (bytes.length - 2)) / 2);
  });

  it('returns views of the chunk when a frame is inside one chunk', () => {
    const got: Frame[] = [...new FrameReader().frames(bytes)];
    for (const f of got) expect(f.body.buffer).toBe(bytes.buffer);
  });

  it('yields nothing until a frame is complete and keeps partial state across pushes', () => {
    const r = new FrameReader();
    const one = encodeFrame(FrameKind.Raft, Buffer.from('abcdef'));
    expect([...r.frames(one.subarray(0, 3))]).toEqual([]);
    expect([...r.frames(one.subarray(3, 8))]).toEqual([]);
    expect(r.bufferedBytes).toBe(8);
    const [f] = [...r.frames(one.subarray(8))];
    expect(f?.body.toString()).toBe('abcdef');
  });

  it('rejects an oversized length from the 4 length bytes alone, before any body is buffered', () => {
    const r = new FrameReader({ maxFrameBytes: 1000 });
    const header = Buffer.alloc(4);
    header.writeUInt32LE(1001);
    const err = protocolErrorOf(() => [...r.frames(header)]);
    expect(err.message).toMatch(/exceeds the cap of 1000/);
    expect(r.bufferedBytes).toBe(0);
    // Failed for good.
    expect(() => r.push(Buffer.from([1]))).toThrow(err.message);
    // Exactly at the cap is fine.
    const ok = encodeFrame(FrameKind.Raft, Buffer.alloc(998));
    expect([...new FrameReader({ maxFrameBytes: 1000 }).frames(ok)]).toHaveLength(1);
  });

  it('rejects zero/short length, bad version and unknown kind as each byte arrives', () => {
    for (const [prefix, reason] of [
      [[0, 0, 0, 0], /too small/],
      [[1, 0, 0, 0], /too small/],
      [[9, 0, 0, 0, 2], /version 2/],
      [[9, 0, 0, 0, 1, 99], /unknown frame kind 99/],
      [[9, 0, 0, 0, 1, 0], /unknown frame kind 0/],
    ] as [number[], RegExp][]) {
      const r = new FrameReader();
      // Byte at a time: the error comes with the byte that completes the bad field, not later.
      for (let i = 0; i < prefix.length - 1; i++) expect([...r.frames(Buffer.from([prefix[i]!]))]).toEqual([]);
      expect(protocolErrorOf(() => [...r.frames(Buffer.from([prefix[prefix.length - 1]!]))]).message).toMatch(reason);
    }
  });

  it('delivers the good frames before a bad one in the same chunk', () => {
    const bad = Buffer.from([3, 0, 0, 0, 7, 3, 0]);
    const r = new FrameReader();
    r.push(Buffer.concat([bytes, bad]));
    const got: Frame[] = [];
    const err = protocolErrorOf(() => {
      for (let f = r.next(); f !== null; f = r.next()) got.push(f);
    });
    expect(got).toHaveLength(frames.length);
    expect(err.message).toMatch(/version 7/);
  });

  it('can raise its cap between frames (used after a handshake)', () => {
    const small = encodeFrame(FrameKind.Handshake, Buffer.alloc(10));
    const big = encodeFrame(FrameKind.Raft, Buffer.alloc(5000));
    const r = new FrameReader({ maxFrameBytes: 100 });
    r.push(Buffer.concat([small, big]));
    expect(r.next()?.kind).toBe(FrameKind.Handshake);
    r.maxFrameBytes = 10_000;
    expect(r.next()?.body.length).toBe(5000);
  });
});
