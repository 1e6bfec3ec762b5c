/**
 * FrameReader memory: a frame split across chunks costs what has arrived of it, not what
 * its header declares (issue 11 item 5: half-sent 64 MiB frames).
 */
import { describe, expect, it } from 'vitest';

import { encodeFrame, FRAME_HEADER_BYTES, FrameKind, FrameReader } from '../../src/transport/frame.js';
import { prng, testSeed } from '../support/tmp.js';

const MiB = 1024 * 1024;

function header(bodyBytes: number): Buffer {
  const h = Buffer.alloc(FRAME_HEADER_BYTES);
  h.writeUInt32LE(bodyBytes + 2, 0);
  h[4] = 1;
  h[5] = FrameKind.ClientRequest;
  return h;
}

describe('FrameReader memory', () => {
  it('a header declaring 64 MiB allocates nothing near 64 MiB before the bytes arrive', () => {
    const readers: FrameReader[] = [];
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 4; i++) {
      const r = new FrameReader();
      expect(r.next()).toBeNull();
      r.push(Buffer.concat([header(64 * MiB), Buffer.alloc(10, i)]));
      expect(r.next()).toBeNull();
      expect(r.bufferedBytes).toBe(FRAME_HEADER_BYTES + 10);
      expect(r.heldBytes).toBeLessThanOrEqual(FRAME_HEADER_BYTES + 64 * 1024);
      readers.push(r);
    }
    // Before the fix each reader allocated its 64 MiB body here (256 MiB in all).
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * MiB);
    expect(readers).toHaveLength(4);
  });

  it('assembles split frames exactly, holding at most 2 x received + 64 KiB', () => {
    const seed = testSeed('frame memory');
    const rnd = prng(seed);
    for (let round = 0; round < 12; round++) {
      const size = Math.floor(rnd() * 3 * MiB);
      const body = Buffer.alloc(size);
      for (let i = 0; i < size; i += 4096) body[i] = Math.floor(rnd() * 256);
      const frame = encodeFrame(FrameKind.ClientRequest, body);
      const reader = new FrameReader();
      let got: Buffer | undefined;
      for (let at = 0; at < frame.length; ) {
        const n = Math.max(1, Math.floor(rnd() * 200_000));
        reader.push(frame.subarray(at, at + n));
        at += n;
        const f = reader.next();
        if (f !== null) got = f.body;
        const ctx = `seed ${seed} round ${round} size ${size} at ${at}`;
        expect(reader.heldBytes, ctx).toBeLessThanOrEqual(2 * reader.bufferedBytes + 64 * 1024 + 2 * FRAME_HEADER_BYTES);
      }
      expect(got !== undefined && got.equals(body), `seed ${seed} round ${round}: body intact`).toBe(true);
      expect(reader.heldBytes).toBe(0);
    }
  });
});
