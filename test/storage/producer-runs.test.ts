/**
 * producerRunsOfRecords (storage/received.ts): the producer runs of received records, read
 * from their producer headers (docs/FORMAT.md "Producer header") without decoding entries;
 * the follower's write path reports them to the producer base (replica/idempotence.ts).
 */
import { describe, expect, it } from 'vitest';
import { FLAG_PRODUCER, PRODUCER_HEADER_BYTES, dataViewOf, producerRunsOfRecords, writeProducerHeader, type ProducerStamp } from '../../src/storage/index.js';
import { makeRecord } from '../transport/helpers.js';

function record(index: number, term: number, stamp?: ProducerStamp): { index: number; term: number; record: Uint8Array } {
  const body = Buffer.alloc((stamp === undefined ? 0 : PRODUCER_HEADER_BYTES) + 5, 0x61);
  if (stamp !== undefined) writeProducerHeader(dataViewOf(body), 0, stamp);
  const rec = makeRecord(index, term, 1, body);
  if (stamp !== undefined) rec.writeUInt16LE(FLAG_PRODUCER, 6);
  return { index, term, record: rec };
}

describe('producerRunsOfRecords', () => {
  it('one run per producer stretch; breaks at a new producer, epoch, term, sequence gap or a plain entry', () => {
    const big = 2 ** 52 + 3;
    const entries = [
      record(10, 2, { producerId: big, epoch: 0xffff_fffe, sequence: 2 ** 40 }),
      record(11, 2, { producerId: big, epoch: 0xffff_fffe, sequence: 2 ** 40 + 1 }),
      record(12, 2), // no producer: skipped, and the next one starts a run (index not consecutive)
      record(13, 2, { producerId: big, epoch: 0xffff_fffe, sequence: 2 ** 40 + 2 }),
      record(14, 2, { producerId: 4, epoch: 0, sequence: 0 }),
      record(15, 3, { producerId: 4, epoch: 0, sequence: 1 }), // another term
      record(16, 3, { producerId: 4, epoch: 1, sequence: 0 }), // another epoch
      record(17, 3, { producerId: 4, epoch: 1, sequence: 2 }), // a sequence gap
    ];
    expect(producerRunsOfRecords(entries)).toEqual([
      { stamp: { producerId: big, epoch: 0xffff_fffe, sequence: 2 ** 40 }, count: 2, firstIndex: 10, term: 2 },
      { stamp: { producerId: big, epoch: 0xffff_fffe, sequence: 2 ** 40 + 2 }, count: 1, firstIndex: 13, term: 2 },
      { stamp: { producerId: 4, epoch: 0, sequence: 0 }, count: 1, firstIndex: 14, term: 2 },
      { stamp: { producerId: 4, epoch: 0, sequence: 1 }, count: 1, firstIndex: 15, term: 3 },
      { stamp: { producerId: 4, epoch: 1, sequence: 0 }, count: 1, firstIndex: 16, term: 3 },
      { stamp: { producerId: 4, epoch: 1, sequence: 2 }, count: 1, firstIndex: 17, term: 3 },
    ]);
    expect(producerRunsOfRecords([record(1, 1), record(2, 1)])).toEqual([]);
  });
});
