import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native, type ScanOptions, type ScanResult } from '../../src/storage/native.js';
import { HEADER, MAGIC, codeOf, encodePadding, encodeRecord, encodeRun, randomBytes, rng, segName, tempDir } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
beforeAll(() => {
  tmp = tempDir('rl-scan-');
});
afterAll(() => tmp.cleanup());

const SEG = 1 << 20;
let segCounter = 3;

function run(count = 10, pos = 1000, firstIndex = 7, term: number | ((i: number) => number) = 5) {
  return encodeRun({ pos, firstIndex, count, term, bodySize: (i) => (i * 37) % 300, rand: rng(count + pos) });
}

function scanBuf(buf: Buffer, options?: ScanOptions, start = 0, end = buf.length): ScanResult {
  return native.scanRecords(buf, start, end, options);
}

describe('native.format agrees with docs/FORMAT.md', () => {
  it('exports the layout constants', () => {
    expect(native.format).toEqual({
      version: 1,
      magic: 0x474c4652,
      headerSizeBytes: 48,
      crcCoveredHeaderBytes: 44,
      types: { padding: 0, normal: 1, noop: 2, config: 3 },
      offsets: { magic: 0, version: 4, type: 5, flags: 6, totalSize: 8, bodySize: 12, index: 16, term: 24, pos: 32, reserved: 40, crc: 44 },
      slotSizeBytes: 24,
      slotOffsets: { pos: 0, term: 8, size: 16, crc: 20 },
    });
    expect(Buffer.from([0x52, 0x46, 0x4c, 0x47]).readUInt32LE(0)).toBe(native.format.magic);
  });
});

describe('scanRecords over buffers', () => {
  it('walks valid records and fills index slots', () => {
    const { bytes, records } = run(20, 4096, 100, (i) => 3 + Math.floor(i / 5));
    const slots = new Uint8Array(20 * 24);
    const r = scanBuf(bytes, { basePos: 4096, expectedIndex: 100, minTerm: 3, slotsOut: slots });
    expect(r).toEqual({
      end: bytes.length,
      count: 20,
      firstIndex: 100,
      lastIndex: 119,
      lastTerm: 6,
      bodyBytes: records.reduce((s, x) => s + x.bodySize, 0),
      stop: 'end',
    });
    const s = Buffer.from(slots.buffer);
    records.forEach((rec, i) => {
      expect(Number(s.readBigUInt64LE(i * 24))).toBe(4096 + rec.offset);
      expect(Number(s.readBigUInt64LE(i * 24 + 8))).toBe(rec.term);
      expect(s.readUInt32LE(i * 24 + 16)).toBe(rec.size);
      expect(s.readUInt32LE(i * 24 + 20)).toBe(rec.crc);
    });
    // without options: pos unchecked, any first index / term
    expect(scanBuf(bytes).count).toBe(20);
    // a sub-range starting at a record boundary
    const r2 = scanBuf(bytes, { basePos: 4096 + records[5]!.offset }, records[5]!.offset);
    expect(r2.count).toBe(15);
    expect(r2.firstIndex).toBe(105);
  });

  it('empty range, short tail, zeros', () => {
    const { bytes } = run(3);
    expect(scanBuf(bytes, {}, 0, 0)).toMatchObject({ stop: 'end', count: 0, end: 0, firstIndex: 0, lastIndex: 0, lastTerm: 0, bodyBytes: 0 });
    const withTail = Buffer.concat([bytes, Buffer.alloc(10, 1)]);
    expect(scanBuf(withTail)).toMatchObject({ stop: 'short', count: 3, end: bytes.length });
    const withZeros = Buffer.concat([bytes, Buffer.alloc(200)]);
    expect(scanBuf(withZeros)).toMatchObject({ stop: 'zeros', count: 3, end: bytes.length });
    const r = scanBuf(withZeros);
    expect(r.reason).toBeUndefined();
    expect(r.invalidOffset).toBeUndefined();
  });

  it('maxRecords and slots-full', () => {
    const { bytes, records } = run(10);
    expect(scanBuf(bytes, { maxRecords: 4 })).toMatchObject({ stop: 'end', count: 4, lastIndex: 10, end: records[4]!.offset });
    expect(scanBuf(bytes, { maxRecords: 0 })).toMatchObject({ stop: 'end', count: 0, end: 0 });
    expect(scanBuf(bytes, { maxRecords: 100 })).toMatchObject({ stop: 'end', count: 10 });
    const slots = new Uint8Array(5 * 24 + 23);
    expect(scanBuf(bytes, { slotsOut: slots })).toMatchObject({ stop: 'slots-full', count: 5, end: records[5]!.offset });
    expect(scanBuf(bytes, { slotsOut: new Uint8Array(0) })).toMatchObject({ stop: 'slots-full', count: 0, end: 0 });
    // slots can be a subarray: writes start at its byteOffset
    const backing = new Uint8Array(24 * 11).fill(0xee);
    scanBuf(bytes, { slotsOut: backing.subarray(24) });
    expect(backing.subarray(0, 24).every((b) => b === 0xee)).toBe(true);
    expect(Buffer.from(backing.buffer).readUInt32LE(24 + 16)).toBe(records[0]!.size);
  });

  it('expectedIndex, minTerm and pos mismatches', () => {
    const { bytes } = run(5, 1000, 7, 5);
    expect(scanBuf(bytes, { expectedIndex: 8 })).toMatchObject({ stop: 'invalid', reason: 'index', invalidOffset: 0, count: 0, end: 0 });
    expect(scanBuf(bytes, { expectedIndex: 7 }).count).toBe(5);
    expect(scanBuf(bytes, { minTerm: 6 })).toMatchObject({ stop: 'invalid', reason: 'term', invalidOffset: 0 });
    expect(scanBuf(bytes, { minTerm: 5 }).count).toBe(5);
    expect(scanBuf(bytes, { basePos: 1001 })).toMatchObject({ stop: 'invalid', reason: 'pos', invalidOffset: 0 });
    // a gap in the indexes
    const a = encodeRecord({ index: 1, term: 1, pos: 0, body: Buffer.from('a') });
    const b = encodeRecord({ index: 3, term: 1, pos: a.length, body: Buffer.from('b') });
    expect(scanBuf(Buffer.concat([a, b]))).toMatchObject({ stop: 'invalid', reason: 'index', invalidOffset: a.length, count: 1, end: a.length });
    // a term going down
    const c = encodeRecord({ index: 2, term: 0, pos: a.length, body: Buffer.from('c') });
    expect(scanBuf(Buffer.concat([a, c]))).toMatchObject({ stop: 'invalid', reason: 'term', invalidOffset: a.length });
    // index 0 is never valid for a normal record
    expect(scanBuf(encodeRecord({ index: 0, term: 1, pos: 0 }))).toMatchObject({ stop: 'invalid', reason: 'index' });
  });

  describe('every invalid reason, by damaging record #3 of 6', () => {
    const victim = 3;
    const cases: [string, string, (rec: Buffer) => void][] = [
      ['magic', 'magic', (r) => (r[0]! ^= 0x01)],
      ['magic (last byte)', 'magic', (r) => (r[3]! ^= 0x80)],
      ['version', 'version', (r) => (r[4] = 2)],
      ['type', 'type', (r) => (r[5] = 4)],
      ['type 0 (padding) in a wire batch', 'type', (r) => (r[5] = 0)],
      ['flags', 'flags', (r) => (r[6]! ^= 0x01)],
      ['flags high byte', 'flags', (r) => (r[7]! ^= 0x80)],
      ['reserved', 'flags', (r) => (r[41]! ^= 0x04)],
      ['totalSize', 'size', (r) => r.writeUInt32LE(r.readUInt32LE(8) + 1, 8)],
      ['totalSize huge', 'size', (r) => r.writeUInt32LE(0xffffffff, 8)],
      ['bodySize', 'size', (r) => (r[12]! ^= 0x01)],
      ['index', 'index', (r) => (r[16]! ^= 0x01)],
      ['index high bit', 'index', (r) => (r[23]! ^= 0x80)],
      ['term (lower)', 'term', (r) => r.writeBigUInt64LE(4n, 24)],
      ['term (higher, caught by crc)', 'crc', (r) => (r[24]! ^= 0x02)],
      ['pos', 'pos', (r) => (r[32]! ^= 0x10)],
      ['crc', 'crc', (r) => (r[44]! ^= 0x01)],
      ['body', 'crc', (r) => (r[HEADER]! ^= 0x20)],
      ['last body byte', 'crc', (r) => (r[r.length - 1]! ^= 0x01)],
      ['type 2 (no-op), caught by crc', 'crc', (r) => (r[5] = 2)],
    ];
    for (const [label, reason, damage] of cases) {
      it(label, () => {
        const { bytes, records } = encodeRun({ pos: 500, firstIndex: 1, count: 6, term: 5, bodySize: 64, rand: rng(11) });
        const off = records[victim]!.offset;
        damage(bytes.subarray(off, off + records[victim]!.size));
        const r = scanBuf(bytes, { basePos: 500, expectedIndex: 1 });
        expect(r).toMatchObject({ stop: 'invalid', reason, invalidOffset: off, count: victim, end: off, lastIndex: victim });
      });
    }
  });

  it('padding: valid only with basePos and segmentSizeBytes', () => {
    const segSize = 4096;
    const a = encodeRecord({ index: 1, term: 1, pos: segSize * 2, body: Buffer.alloc(100, 1) });
    const pad = encodePadding(segSize * 2 + a.length, segSize - a.length);
    const buf = Buffer.concat([a, pad]);
    expect(scanBuf(buf, { basePos: segSize * 2, segmentSizeBytes: segSize })).toMatchObject({
      stop: 'padding',
      count: 1,
      end: segSize,
    });
    expect(scanBuf(buf)).toMatchObject({ stop: 'invalid', reason: 'type', invalidOffset: a.length, count: 1 });
    const wrong = Buffer.concat([a, encodePadding(segSize * 2 + a.length, segSize - a.length - 8)]);
    expect(scanBuf(wrong, { basePos: segSize * 2, segmentSizeBytes: segSize })).toMatchObject({ stop: 'invalid', reason: 'size' });
  });

  it('rejects bad arguments', () => {
    const { bytes } = run(2);
    const expectErr = (fn: () => unknown, cls: string, code: string) => {
      const r = codeOf(fn);
      expect(r.name).toBe(cls);
      expect(r.code).toBe(code);
    };
    expectErr(() => native.scanRecords('x' as unknown as Uint8Array, 0, 0), 'TypeError', 'ERR_INVALID_ARG');
    expectErr(() => native.scanRecords(bytes, 0, bytes.length + 1), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectErr(() => native.scanRecords(bytes, 5, 4), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectErr(() => native.scanRecords(bytes, 0, bytes.length, 'opts' as unknown as ScanOptions), 'TypeError', 'ERR_INVALID_ARG');
    expectErr(() => native.scanRecords(bytes, 0, bytes.length, { expectedIndex: -1 }), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectErr(() => native.scanRecords(bytes, 0, bytes.length, { basePos: '0' as unknown as number }), 'TypeError', 'ERR_INVALID_ARG');
    expectErr(() => native.scanRecords(bytes, 0, bytes.length, { slotsOut: [] as unknown as Uint8Array }), 'TypeError', 'ERR_INVALID_ARG');
    expectErr(() => native.scanRecords(bytes, 0, bytes.length, { segmentSizeBytes: 0 }), 'RangeError', 'ERR_OUT_OF_RANGE');
  });

  it('random garbage never crashes and never reports a valid record', () => {
    const rand = rng(1234);
    for (let i = 0; i < 200; i++) {
      const g = randomBytes(rand, 48 + Math.floor(rand() * 500));
      if (rand() < 0.5) g.writeUInt32LE(MAGIC, 0);
      if (rand() < 0.5) g[4] = 1;
      const r = scanBuf(g, { basePos: 0, segmentSizeBytes: 1 << 20 });
      expect(r.count).toBe(0);
    }
  });
});

describe('segment scans', () => {
  function segWith(parts: Buffer[], size = SEG) {
    const base = size * segCounter++;
    const seg = native.createSegment(join(tmp.dir, segName(base)), size);
    seg.write(0, Buffer.concat(parts));
    return { seg, base };
  }

  it('stops at zeros; basePos defaults to the base in the file name', async () => {
    const base = SEG * segCounter;
    const { bytes } = encodeRun({ pos: base, firstIndex: 1, count: 50, term: 2, bodySize: 1000 });
    const { seg } = segWith([bytes]);
    expect(seg.scan(0, SEG)).toMatchObject({ stop: 'zeros', count: 50, end: bytes.length, firstIndex: 1, lastIndex: 50, lastTerm: 2 });
    expect(seg.scan(0, SEG, { basePos: 7 })).toMatchObject({ stop: 'invalid', reason: 'pos', invalidOffset: 0 });
    expect(seg.scan(0, bytes.length)).toMatchObject({ stop: 'end', count: 50 });
    await seg.close();
  });

  it('a valid padding record stops the scan with end = segment size', async () => {
    const size = 64 * 1024;
    const base = size * segCounter;
    const { bytes } = encodeRun({ pos: base, firstIndex: 10, count: 20, term: 1, bodySize: 1500 });
    const pad = encodePadding(base + bytes.length, size - bytes.length);
    const { seg } = segWith([bytes, pad], size);
    expect(seg.scan(0, size)).toMatchObject({ stop: 'padding', count: 20, end: size, firstIndex: 10, lastIndex: 29 });
    // also when the scan range stops short of the segment end
    expect(seg.scan(0, bytes.length + 48)).toMatchObject({ stop: 'padding', end: size });
    await seg.close();
  });

  it('fewer than 48 bytes to the segment end: short when zero, nonzero-tail otherwise', async () => {
    const size = 16 * 1024;
    const base = size * segCounter;
    // fill up to size - 20 exactly
    const first = encodeRecord({ index: 1, term: 1, pos: base, body: Buffer.alloc(size - 20 - HEADER, 9) });
    const { seg } = segWith([first], size);
    expect(seg.scan(0, size)).toMatchObject({ stop: 'short', count: 1, end: size - 20 });
    seg.write(size - 3, Buffer.from([1]));
    expect(seg.scan(0, size)).toMatchObject({ stop: 'invalid', reason: 'nonzero-tail', invalidOffset: size - 20, count: 1, end: size - 20 });
    await seg.close();
  });

  it('findValidRecord skips damage to the next good record', async () => {
    const base = SEG * segCounter;
    const { bytes, records } = encodeRun({ pos: base, firstIndex: 1, count: 30, term: 3, bodySize: (i) => 200 + i * 10 });
    const { seg } = segWith([bytes]);
    const at = records[10]!.offset;
    // damage record 10's body, and plant a fake magic inside record 11's body region? keep 11 intact
    seg.write(at + HEADER + 5, Buffer.from([0xff ^ bytes[at + HEADER + 5]!]));
    const r = seg.scan(0, SEG);
    expect(r).toMatchObject({ stop: 'invalid', reason: 'crc', invalidOffset: at, count: 10 });
    expect(seg.findValidRecord(at, SEG, base)).toBe(records[11]!.offset);
    expect(seg.findValidRecord(0, SEG, base)).toBe(0);
    expect(seg.findValidRecord(1, SEG, base)).toBe(records[1]!.offset);
    expect(seg.findValidRecord(0, SEG, base + 1)).toBe(-1); // pos never matches
    expect(seg.findValidRecord(records[29]!.offset + 1, SEG, base)).toBe(-1); // only zeros after
    expect(seg.findValidRecord(at, records[11]!.offset + 10, base)).toBe(-1); // range too short
    // a record containing a copy of another record's bytes: the copy's pos does not match
    const copy = Buffer.from(bytes.subarray(records[0]!.offset, records[0]!.offset + records[0]!.size));
    const fake = encodeRecord({ index: 99, term: 3, pos: base + bytes.length, body: copy });
    seg.write(bytes.length, fake);
    expect(seg.findValidRecord(bytes.length + 1, SEG, base)).toBe(-1);
    expect(seg.findValidRecord(bytes.length, SEG, base)).toBe(bytes.length);
    await seg.close();
  });

  it('a torn tail (partial last record) is invalid at the tail offset', async () => {
    const base = SEG * segCounter;
    const { bytes, records } = encodeRun({ pos: base, firstIndex: 1, count: 8, term: 1, bodySize: 700 });
    const torn = bytes.subarray(0, records[7]!.offset + 300);
    const { seg } = segWith([torn]);
    expect(seg.scan(0, SEG)).toMatchObject({ stop: 'invalid', reason: 'crc', invalidOffset: records[7]!.offset, count: 7 });
    expect(seg.findValidRecord(records[7]!.offset, SEG, base)).toBe(-1);
    await seg.close();
  });

  it('scans 1 KiB records at memory speed', async () => {
    const size = 32 << 20;
    const base = size * segCounter;
    const one = encodeRun({ pos: 0, firstIndex: 1, count: 1, term: 1, bodySize: 1024 - HEADER }).records[0]!.size;
    const count = Math.floor(size / one) - 1;
    const { bytes } = encodeRun({ pos: base, firstIndex: 1, count, term: 1, bodySize: 1024 - HEADER, rand: rng(5) });
    const { seg } = segWith([bytes], size);
    seg.scan(0, size); // warm
    const t0 = performance.now();
    const iters = 5;
    for (let i = 0; i < iters; i++) expect(seg.scan(0, size).count).toBe(count);
    const ms = (performance.now() - t0) / iters;
    const gbps = bytes.length / (ms * 1e6);
    console.log(`segment scan: ${gbps.toFixed(2)} GB/s over ${count} 1 KiB records`);
    expect(gbps).toBeGreaterThan(0.5); // lenient: the machine is shared; expected > 2 GB/s
    await seg.close();
  });
});

describe('sealRecords', () => {
  it('fills the CRC of every packed record exactly like the TS computation', () => {
    const { bytes, records } = run(25, 0, 1, 1);
    const blank = Buffer.from(bytes);
    for (const r of records) blank.writeUInt32LE(0, r.offset + 44);
    const padded = Buffer.concat([Buffer.alloc(16, 0xab), blank, Buffer.alloc(16, 0xcd)]);
    expect(native.sealRecords(padded, 16, 16 + blank.length)).toBe(25);
    expect(padded.subarray(16, 16 + blank.length).equals(bytes)).toBe(true);
    expect(padded.subarray(0, 16).every((b) => b === 0xab)).toBe(true);
    expect(padded.subarray(16 + blank.length).every((b) => b === 0xcd)).toBe(true);
    expect(native.sealRecords(padded, 0, 0)).toBe(0);
  });

  it('throws RangeError when a record runs past end, writing nothing', () => {
    const { bytes, records } = run(3, 0, 1, 1);
    const blank = Buffer.from(bytes);
    for (const r of records) blank.writeUInt32LE(0, r.offset + 44);
    const copy = Buffer.from(blank);
    let r = codeOf(() => native.sealRecords(copy, 0, copy.length - 1));
    expect(r.name).toBe('RangeError');
    expect(r.code).toBe('ERR_OUT_OF_RANGE');
    expect(copy.equals(blank)).toBe(true);
    r = codeOf(() => native.sealRecords(Buffer.concat([copy, Buffer.alloc(10)]), 0, copy.length + 10));
    expect(r.name).toBe('RangeError');
    const zeroSize = Buffer.alloc(48);
    expect(codeOf(() => native.sealRecords(zeroSize, 0, 48)).name).toBe('RangeError');
    expect(codeOf(() => native.sealRecords(copy, 0, copy.length + 1)).name).toBe('RangeError');
    expect(codeOf(() => native.sealRecords(null as unknown as Uint8Array, 0, 0)).name).toBe('TypeError');
  });
});
