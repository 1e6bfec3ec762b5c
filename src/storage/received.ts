/**
 * Record bytes that arrive from a leader (AppendEntries), after the transport's decoder
 * checked their structure (./records.ts): the content check that the replica runs before
 * the Raft core sees the entries, so that a damaged frame is dropped instead of written.
 */
import { RaftLedgerError } from '../errors.js';
import type { ProducerStamp } from './format.js';
import { native } from './native.js';
import { recordProducer } from './records.js';

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
export interface ProducerRun {
  stamp: ProducerStamp;
  count: number;
  firstIndex: number;
  term: number;
}

/** Whether `stamp`'s entry at `index` in `term` (or its run starting there) continues `run` without a gap. */
export function continuesProducerRun(run: ProducerRun, stamp: ProducerStamp, index: number, term: number): boolean {
  return run.stamp.producerId === stamp.producerId && run.stamp.epoch === stamp.epoch && run.term === term && run.firstIndex + run.count === index && run.stamp.sequence + run.count === stamp.sequence;
}

/**
 * The producer runs of received entries (docs/FORMAT.md "Producer header"), in index order:
 * one object per run, not per entry. Each entry's `record` holds its whole record bytes,
 * already structure-checked by the decoder (a FLAG_PRODUCER record is long enough for its
 * header).
 */
export function producerRunsOfRecords(entries: readonly { index: number; term: number; record: Uint8Array }[]): ProducerRun[] {
  const runs: ProducerRun[] = [];
  let run: ProducerRun | undefined;
  for (const e of entries) {
    const stamp = recordProducer(e.record);
    if (stamp === undefined) continue;
    if (run !== undefined && continuesProducerRun(run, stamp, e.index, e.term)) {
      run.count++;
      continue;
    }
    run = { stamp, count: 1, firstIndex: e.index, term: e.term };
    runs.push(run);
  }
  return runs;
}
