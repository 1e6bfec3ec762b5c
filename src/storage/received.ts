/**
 * Record bytes that arrive from a leader (AppendEntries), after the transport's decoder
 * checked their structure (./records.ts): the content check that the replica runs before
 * the Raft core sees the entries, so that a damaged frame is dropped instead of written.
 */
import { RaftLedgerError } from '../errors.js';
import { FLAG_PRODUCER, HEADER_SIZE_BYTES, ProducerHeaderOffset, RecordOffset, type ProducerStamp } from './format.js';
import { native } from './native.js';

/**
 * The records as runs that sit back to back in one ArrayBuffer each (views, never copies):
 * one run in the usual case of one network frame, one per frame when entries of several
 * AppendEntries messages are written together.
 */
export function contiguousRuns(records: readonly Uint8Array[]): Uint8Array[] {
  const runs: Uint8Array[] = [];
  let first: Uint8Array | undefined;
  let end = 0;
  for (const r of records) {
    if (first !== undefined && r.buffer === first.buffer && r.byteOffset === end) {
      end += r.byteLength;
      continue;
    }
    if (first !== undefined) runs.push(new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset));
    first = r;
    end = r.byteOffset + r.byteLength;
  }
  if (first !== undefined) runs.push(new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset));
  return runs;
}

/**
 * Throws ERR_LOG_CORRUPT unless every record packed in `records` carries the CRC32C of its
 * bytes. Only the CRCs: the structure is the decoder's check (storage/records.ts), and the
 * fit with the log is appendRecords' (index, term order, placement).
 */
export function verifyRecordCrcs(records: Uint8Array | readonly Uint8Array[]): void {
  let base = 0;
  for (const run of records instanceof Uint8Array ? [records] : records) {
    const bad = native.findBadRecordCrc(run, 0, run.byteLength);
    if (bad >= 0) {
      throw new RaftLedgerError('ERR_LOG_CORRUPT', `received records are invalid at byte ${base + bad}: crc`, { offset: base + bad });
    }
    base += run.byteLength;
  }
}

/** A run of one producer's entries: consecutive indexes and sequences, one epoch, one term. */
export interface ProducerRunOfRecords {
  stamp: ProducerStamp;
  count: number;
  firstIndex: number;
  term: number;
}

function u64At(b: Uint8Array, at: number): number {
  const lo = (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
  const hi = (b[at + 4]! | (b[at + 5]! << 8) | (b[at + 6]! << 16) | (b[at + 7]! << 24)) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}

/**
 * The producer runs of received entries (docs/FORMAT.md "Producer header"), in index order:
 * one object per run, not per entry. Each entry's `record` holds its whole record bytes,
 * already structure-checked by the decoder (a FLAG_PRODUCER record is long enough for its
 * header).
 */
export function producerRunsOfRecords(entries: readonly { index: number; term: number; record: Uint8Array }[]): ProducerRunOfRecords[] {
  const runs: ProducerRunOfRecords[] = [];
  let run: ProducerRunOfRecords | undefined;
  for (const e of entries) {
    const r = e.record;
    const flags = r[RecordOffset.flags]! | (r[RecordOffset.flags + 1]! << 8);
    if ((flags & FLAG_PRODUCER) === 0) continue;
    const h = HEADER_SIZE_BYTES;
    const producerId = u64At(r, h + ProducerHeaderOffset.producerId);
    const sequence = u64At(r, h + ProducerHeaderOffset.sequence);
    const epoch = (r[h + ProducerHeaderOffset.epoch]! | (r[h + ProducerHeaderOffset.epoch + 1]! << 8) | (r[h + ProducerHeaderOffset.epoch + 2]! << 16) | (r[h + ProducerHeaderOffset.epoch + 3]! << 24)) >>> 0;
    if (run !== undefined && run.stamp.producerId === producerId && run.stamp.epoch === epoch && run.term === e.term && run.firstIndex + run.count === e.index && run.stamp.sequence + run.count === sequence) {
      run.count++;
      continue;
    }
    run = { stamp: { producerId, epoch, sequence }, count: 1, firstIndex: e.index, term: e.term };
    runs.push(run);
  }
  return runs;
}
