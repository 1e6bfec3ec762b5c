import { describe, expect, it } from 'vitest';
import { native } from '../../src/storage/native.js';
import { codeOf, randomBytes, refCrc32c, rng } from './helpers.js';

type CrcFn = (data: Uint8Array, seed?: number) => number;

const impls: [string, CrcFn][] = [
  ['default', native.crc32c],
  ['portable', native.crc32cPortable],
];
if (native.crc32cImplementation() !== 'portable') impls.push(['hardware', native.crc32cHardware]);

const vectors: [string, Uint8Array, number][] = [
  ['"123456789"', Buffer.from('123456789', 'ascii'), 0xe3069283],
  ['32 x 0x00', new Uint8Array(32), 0x8a9136aa],
  ['32 x 0xFF', new Uint8Array(32).fill(0xff), 0x62a8ab43],
  ['0..31', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
  ['31..0', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
  ['empty', new Uint8Array(0), 0],
];

describe('crc32c', () => {
  it('reports its implementation', () => {
    expect(['sse4.2', 'armv8', 'portable']).toContain(native.crc32cImplementation());
    if (process.arch === 'x64') expect(native.crc32cImplementation()).toBe('sse4.2');
  });

  it('the JS reference passes the standard vectors', () => {
    for (const [, data, want] of vectors) expect(refCrc32c(data)).toBe(want);
  });

  for (const [name, fn] of impls) {
    describe(name, () => {
      it('standard vectors', () => {
        for (const [label, data, want] of vectors) expect(fn(data), label).toBe(want);
      });

      it('matches the reference for every length 0..4096, aligned and unaligned', () => {
        const rand = rng(0xc0ffee);
        const big = randomBytes(rand, 4096 + 16);
        for (let len = 0; len <= 4096; len++) {
          const shift = len % 8; // every alignment mod 8
          const view = big.subarray(shift, shift + len);
          const want = refCrc32c(view);
          const got = fn(view);
          if (got !== want) expect({ len, shift, got }).toEqual({ len, shift, got: want });
        }
        // and a second pass with odd offsets for every length, plain Uint8Array subarrays
        const u8 = new Uint8Array(big.buffer, big.byteOffset, big.byteLength);
        for (let len = 0; len <= 4096; len += 1) {
          const view = u8.subarray(7, 7 + len);
          if (fn(view) !== refCrc32c(view)) expect(fn(view)).toBe(refCrc32c(view));
        }
      });

      it('matches the reference on large buffers (three-stream path)', () => {
        const rand = rng(7);
        for (const len of [65536, 65536 + 13, 100_003, (1 << 20) + 5]) {
          const b = randomBytes(rand, len + 3).subarray(3);
          expect(fn(b), `len ${len}`).toBe(refCrc32c(b));
        }
      });

      it('seed continues a previous result: crc(b, crc(a)) == crc(a||b)', () => {
        const rand = rng(99);
        for (let i = 0; i < 300; i++) {
          const total = Math.floor(rand() * 3000);
          const cut = Math.floor(rand() * (total + 1));
          const all = randomBytes(rand, total);
          const a = all.subarray(0, cut);
          const b = all.subarray(cut);
          expect(fn(b, fn(a))).toBe(fn(all));
          expect(fn(b, fn(a))).toBe(refCrc32c(b, refCrc32c(a)));
        }
        expect(fn(new Uint8Array(0), 0xdeadbeef)).toBe(0xdeadbeef);
        expect(fn(Buffer.from('56789'), fn(Buffer.from('1234')))).toBe(0xe3069283);
      });

      it('accepts seeds above 2^31 and undefined', () => {
        const d = Buffer.from('hello');
        expect(fn(d, 0xffffffff)).toBe(refCrc32c(d, 0xffffffff));
        expect(fn(d, undefined)).toBe(refCrc32c(d));
      });
    });
  }

  it('reads any typed array or DataView as bytes', () => {
    const rand = rng(3);
    const bytes = randomBytes(rand, 64);
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 64);
    const want = refCrc32c(new Uint8Array(ab));
    expect(native.crc32c(new Uint32Array(ab) as unknown as Uint8Array)).toBe(want);
    expect(native.crc32c(new DataView(ab) as unknown as Uint8Array)).toBe(want);
    expect(native.crc32c(new Uint8Array(ab, 8, 16))).toBe(refCrc32c(new Uint8Array(ab, 8, 16)));
  });

  it('rejects bad arguments with TypeError ERR_INVALID_ARG', () => {
    for (const bad of [undefined, null, 'abc', 42, {}, [1, 2, 3], new ArrayBuffer(4)]) {
      const r = codeOf(() => native.crc32c(bad as unknown as Uint8Array));
      expect(r.name).toBe('TypeError');
      expect(r.code).toBe('ERR_INVALID_ARG');
    }
    const r = codeOf(() => native.crc32c(Buffer.alloc(1), 'x' as unknown as number));
    expect(r.name).toBe('TypeError');
    expect(r.code).toBe('ERR_INVALID_ARG');
  });
});
