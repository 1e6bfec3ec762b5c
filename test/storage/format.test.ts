import { describe, expect, it } from 'vitest';
import { native } from '../../src/storage/native.js';
import {
  CRC_COVERED_HEADER_BYTES,
  FORMAT_VERSION,
  HEADER_SIZE_BYTES,
  RECORD_MAGIC,
  RecordOffset,
  RecordType,
  SLOT_SIZE_BYTES,
  SlotOffset,
  dataViewOf,
  readHeader,
  readSlot,
  writeHeader,
} from '../../src/storage/format.js';
import { decodeCheckpoint, decodeHardState, encodeCheckpoint, encodeHardState } from '../../src/storage/meta-store.js';

describe('docs/FORMAT.md: C++ and TypeScript agree', () => {
  it('on every constant and field offset', () => {
    const f = native.format;
    expect(f.version).toBe(FORMAT_VERSION);
    expect(f.magic).toBe(RECORD_MAGIC);
    expect(f.headerSizeBytes).toBe(HEADER_SIZE_BYTES);
    expect(f.crcCoveredHeaderBytes).toBe(CRC_COVERED_HEADER_BYTES);
    expect(f.offsets).toEqual(RecordOffset);
    expect(f.slotSizeBytes).toBe(SLOT_SIZE_BYTES);
    expect(f.slotOffsets).toEqual(SlotOffset);
    expect(f.types).toEqual({ padding: RecordType.Padding, normal: RecordType.Normal, noop: RecordType.Noop, config: RecordType.Config });
  });

  it('on every field of a record written by TypeScript and read by C++ (and back)', () => {
    const body = Buffer.from('hello, ledger');
    const bytes = Buffer.alloc(HEADER_SIZE_BYTES + body.byteLength);
    const view = dataViewOf(bytes);
    const index = 2 ** 40 + 3; // exercise the high 32 bits
    const term = 2 ** 33 + 7;
    const pos = 2 ** 45 + 4096;
    writeHeader(view, 0, RecordType.Config, body.byteLength, index, term, pos);
    body.copy(bytes, HEADER_SIZE_BYTES);
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('RFLG');
    native.sealRecords(bytes, 0, bytes.byteLength);
    const expectedCrc = native.crc32c(body, native.crc32c(bytes.subarray(0, CRC_COVERED_HEADER_BYTES)));
    expect(view.getUint32(RecordOffset.crc, true)).toBe(expectedCrc);
    const slots = Buffer.alloc(SLOT_SIZE_BYTES);
    const scan = native.scanRecords(bytes, 0, bytes.byteLength, { basePos: pos, expectedIndex: index, slotsOut: slots });
    expect(scan).toMatchObject({ stop: 'end', count: 1, firstIndex: index, lastIndex: index, lastTerm: term, end: bytes.byteLength, bodyBytes: body.byteLength });
    expect(readSlot(dataViewOf(slots), 0)).toEqual({ pos, term, size: bytes.byteLength, crc: expectedCrc });
    expect(readHeader(view, 0)).toEqual({ type: RecordType.Config, totalSize: bytes.byteLength, bodySize: body.byteLength, index, term, pos, crc: expectedCrc });
    // Every header byte matters to C++: flipping any one is detected.
    for (let i = 0; i < HEADER_SIZE_BYTES; i++) {
      const copy = Buffer.from(bytes);
      copy[i]! ^= 0x10;
      const r = native.scanRecords(copy, 0, copy.byteLength, { basePos: pos, expectedIndex: index });
      expect(r.stop, `byte ${i}`).toBe('invalid');
    }
  });

  it('meta and checkpoint files round trip and reject damage', () => {
    const state = { term: 2 ** 40, votedFor: 'nöde-1', commitIndex: 77, firstIndex: 5, prevTerm: 3 };
    const bytes = encodeHardState(state);
    expect(decodeHardState(bytes, 'meta')).toEqual(state);
    for (let i = 0; i < bytes.byteLength; i++) {
      const copy = Buffer.from(bytes);
      copy[i]! ^= 1;
      expect(() => decodeHardState(copy, 'meta'), `byte ${i}`).toThrow(/meta/);
    }
    const cp = { index: 10, pos: 2 ** 36, term: 9 };
    const cpBytes = encodeCheckpoint(cp);
    expect(decodeCheckpoint(cpBytes)).toEqual(cp);
    for (let i = 0; i < cpBytes.byteLength; i++) {
      const copy = Buffer.from(cpBytes);
      copy[i]! ^= 4;
      expect(decodeCheckpoint(copy), `byte ${i}`).toBeUndefined();
    }
  });
});
