/**
 * Record bytes that arrive from a leader (AppendEntries), after the transport's decoder
 * checked their structure (./records.ts): the content check that the replica runs before
 * the Raft core sees the entries, so that a damaged frame is dropped instead of written.
 */
import { RaftLedgerError } from '../errors.js';
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
