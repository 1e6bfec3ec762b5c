/**
 * Checks on record bytes that arrive from elsewhere (a leader's AppendEntries): the
 * replica validates structure and CRC before the Raft core sees the entries, so a
 * damaged frame is dropped instead of entering the log.
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

/** Throws ERR_LOG_CORRUPT unless `records` are valid records with indexes firstIndex, firstIndex+1, ... */
export function validateRecords(records: Uint8Array, firstIndex: number, count: number): void {
  const result = native.scanRecords(records, 0, records.byteLength, { expectedIndex: firstIndex });
  if (result.stop !== 'end' || result.count !== count || result.end !== records.byteLength) {
    throw new RaftLedgerError(
      'ERR_LOG_CORRUPT',
      `received records are invalid at byte ${result.invalidOffset ?? result.end}: ${result.reason ?? result.stop}`,
      { offset: result.invalidOffset ?? result.end },
    );
  }
}
