import { describe, expect, it } from 'vitest';
import { EntryType } from '../../src/raft/types.js';
import { RecordType, HEADER_SIZE_BYTES, RecordOffset, dataViewOf, writeHeader } from '../../src/storage/format.js';
import { native } from '../../src/storage/native.js';
import { checkDataRecord, recordIndex, recordTerm, recordTotalSize } from '../../src/storage/records.js';
import { verifyRecordCrcs } from '../../src/storage/received.js';
import { entryTypeOf } from '../../src/transport/entry-types.js';
import { isRaftLedgerError } from '../../src/errors.js';

function sealed(index: number, term: number, body: string, type: RecordType = RecordType.Normal): Buffer {
  const data = Buffer.from(body);
  const bytes = Buffer.alloc(HEADER_SIZE_BYTES + data.byteLength);
  writeHeader(dataViewOf(bytes), 0, type, data.byteLength, index, term, index * 1000);
  data.copy(bytes, HEADER_SIZE_BYTES);
  native.sealRecords(bytes, 0, bytes.byteLength);
  return bytes;
}

describe('EntryType (raft) and RecordType (storage)', () => {
  it('share the on-disk numbers, and entryTypeOf maps every data record type', () => {
    expect(EntryType.Normal).toBe(RecordType.Normal);
    expect(EntryType.Noop).toBe(RecordType.Noop);
    expect(EntryType.Config).toBe(RecordType.Config);
    // Every EntryType is a RecordType and nothing else is (padding is storage-only).
    expect(Object.values(EntryType).sort()).toEqual([RecordType.Normal, RecordType.Noop, RecordType.Config].sort());
    expect(entryTypeOf(RecordType.Normal)).toBe(EntryType.Normal);
    expect(entryTypeOf(RecordType.Noop)).toBe(EntryType.Noop);
    expect(entryTypeOf(RecordType.Config)).toBe(EntryType.Config);
    expect(() => entryTypeOf(RecordType.Padding)).toThrow(RangeError);
    expect(() => entryTypeOf(7 as RecordType)).toThrow(RangeError);
  });
});

describe('records.ts: the TypeScript record structure check', () => {
  it('accepts a sealed record and reads its fields', () => {
    const rec = sealed(2 ** 40 + 1, 2 ** 33, 'hello', RecordType.Config);
    expect(checkDataRecord(rec, 0, rec.byteLength, 2 ** 40 + 1, 0)).toBeUndefined();
    expect(recordTotalSize(rec)).toBe(rec.byteLength);
    expect(recordIndex(rec)).toBe(2 ** 40 + 1);
    expect(recordTerm(rec)).toBe(2 ** 33);
  });

  it('rejects every structural fault the native scanner rejects in a wire batch, with its reason', () => {
    const good = sealed(5, 3, 'payload');
    const cases: Array<[string, (b: Buffer) => void, string, number?, number?]> = [
      ['magic', (b) => (b[0]! ^= 1), 'magic'],
      ['version', (b) => (b[RecordOffset.version] = 2), 'version'],
      ['type 0 (padding is not a data record)', (b) => (b[RecordOffset.type] = 0), 'type'],
      ['type 4', (b) => (b[RecordOffset.type] = 4), 'type'],
      ['flags', (b) => b.writeUInt16LE(1, RecordOffset.flags), 'flags'],
      ['reserved', (b) => b.writeUInt32LE(1, RecordOffset.reserved), 'flags'],
      ['totalSize', (b) => b.writeUInt32LE(b.readUInt32LE(RecordOffset.totalSize) + 1, RecordOffset.totalSize), 'size'],
      ['bodySize', (b) => b.writeUInt32LE(0, RecordOffset.bodySize), 'size'],
      ['index', (b) => b.writeUInt32LE(6, RecordOffset.index), 'index'],
      ['index >= 2^53', (b) => b.writeUInt32LE(0x0020_0000, RecordOffset.index + 4), 'index'],
      ['term >= 2^53', (b) => b.writeUInt32LE(0x0020_0000, RecordOffset.term + 4), 'term'],
      ['term below the previous', () => {}, 'term', 5, 4],
      ['pos >= 2^53', (b) => b.writeUInt32LE(0x0020_0000, RecordOffset.pos + 4), 'pos'],
    ];
    for (const [what, mutate, reason, , minTerm] of cases) {
      const bad = Buffer.from(good);
      mutate(bad);
      expect(checkDataRecord(bad, 0, bad.byteLength, 5, minTerm ?? 0)?.reason, what).toBe(reason);
      // The native scanner (the C++ twin) agrees that each is invalid.
      const scan = native.scanRecords(bad, 0, bad.byteLength, { expectedIndex: 5, minTerm: minTerm ?? 0 });
      expect(scan.stop, what).toBe('invalid');
    }
    expect(checkDataRecord(good, 0, good.byteLength - 1, 5, 0)?.reason).toBe('size'); // overruns
    expect(checkDataRecord(good, 0, HEADER_SIZE_BYTES - 1, 5, 0)?.reason).toBe('size'); // header truncated
  });
});

describe('verifyRecordCrcs: the content check on arrival', () => {
  it('accepts sealed records and rejects a flipped bit anywhere, or a record it cannot walk', () => {
    const batch = Buffer.concat([sealed(1, 1, 'one'), sealed(2, 1, 'two'), sealed(3, 2, '')]);
    expect(() => verifyRecordCrcs(batch)).not.toThrow();
    for (let i = 0; i < batch.byteLength; i++) {
      const bad = Buffer.from(batch);
      bad[i]! ^= 0x04;
      let caught: unknown;
      try {
        verifyRecordCrcs(bad);
      } catch (error) {
        caught = error;
      }
      expect(isRaftLedgerError(caught, 'ERR_LOG_CORRUPT'), `byte ${i}`).toBe(true);
    }
    const unwalkable = Buffer.from(batch);
    unwalkable.writeUInt32LE(0, RecordOffset.totalSize);
    expect(() => verifyRecordCrcs(unwalkable)).toThrow(/crc/);
    expect(() => verifyRecordCrcs(batch.subarray(0, batch.byteLength - 1))).toThrow(/crc/);
  });
});
