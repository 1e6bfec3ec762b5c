/**
 * Record bytes that arrive from a leader (AppendEntries), after the transport's decoder
 * checked their structure (./records.ts): the content check that the replica runs before
 * the Raft core sees the entries, so that a damaged frame is dropped instead of written.
 */
import { RaftLedgerError } from '../errors.js';
import { native } from './native.js';

/**
 * One buffer holding the records back to back: a view when they already sit back to
 * back in one ArrayBuffer (the usual case: one network frame), a copy otherwise.
 */
export function joinRecords(records: readonly Uint8Array[]): Uint8Array {
  if (records.length === 1) return records[0]!;
  const first = records[0];
  if (first === undefined) return new Uint8Array(0);
  let end = first.byteOffset + first.byteLength;
  let contiguous = true;
  for (let i = 1; i < records.length; i++) {
    const r = records[i]!;
    if (r.buffer !== first.buffer || r.byteOffset !== end) {
      contiguous = false;
      break;
    }
    end += r.byteLength;
  }
  if (contiguous) return new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset);
  return Buffer.concat(records);
}

/**
 * Throws ERR_LOG_CORRUPT unless every record packed in `records` carries the CRC32C of its
 * bytes. Only the CRCs: the structure is the decoder's check (storage/records.ts), and the
 * fit with the log is appendRecords' (index, term order, placement).
 */
export function verifyRecordCrcs(records: Uint8Array): void {
  const bad = native.findBadRecordCrc(records, 0, records.byteLength);
  if (bad >= 0) {
    throw new RaftLedgerError('ERR_LOG_CORRUPT', `received records are invalid at byte ${bad}: crc`, { offset: bad });
  }
}
