/**
 * The bytes of a committed producer base (exactly-once appends, issue 14; docs/FORMAT.md
 * "Producer table file"): the file `producers` in a group's log directory, and the same
 * bytes a leader attaches to the last chunk of a log start (raft-codec.ts flag bit 6).
 *
 *   header (32 bytes): u32 magic "PRTB", u32 version 2, u64 upTo, u32 producerCount,
 *                      u32 crc = CRC32C of bytes [0, 20) then of everything after byte 24,
 *                      u64 droppedUpTo
 *   per producer (oldest use first): u64 producerId, u32 epoch, u64 nextSequence, u8 runs,
 *                      then per run u64 firstSequence, u64 count, u64 firstIndex, u64 term
 *
 * `upTo`: every committed entry at or below it is in the base (its producers were recorded,
 * one update per run), nothing above it is. `droppedUpTo`: ProducerTable.droppedUpTo. A
 * version 1 file (24-byte header, no droppedUpTo) still reads, with droppedUpTo 0.
 * Integers little-endian, u64 < 2^53.
 */
import { RaftLedgerError } from '../errors.js';
import { crc32c, dataViewOf } from '../storage/index.js';
import { RUNS_PER_PRODUCER, ProducerTable, type SequenceRun } from './producer-table.js';

export const PRODUCER_FILE = 'producers';
const MAGIC = 0x42545250; // "PRTB"
const VERSION = 2;
const HEADER_BYTES = 32;
const V1_HEADER_BYTES = 24;
/** The CRC field; the CRC covers [0, CRC_AT) and [CRC_AT + 4, end). */
const CRC_AT = 20;
const PRODUCER_BYTES = 21;
const RUN_BYTES = 32;

export interface ProducerBase {
  table: ProducerTable;
  upTo: number;
}

function putU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value >>> 0, true);
  view.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
}

function getU64(view: DataView, at: number): number {
  const high = view.getUint32(at + 4, true);
  if (high >= 2 ** 21) throw new RangeError(`u64 at ${at} is not below 2^53`);
  return high * 2 ** 32 + view.getUint32(at, true);
}

export function encodeProducerBase(table: ProducerTable, upTo: number): Buffer {
  let size = HEADER_BYTES;
  let count = 0;
  for (const [, state] of table.entries()) {
    size += PRODUCER_BYTES + RUN_BYTES * state.runs.length;
    count++;
  }
  const bytes = Buffer.alloc(size);
  const view = dataViewOf(bytes);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  putU64(view, 8, upTo);
  view.setUint32(16, count, true);
  putU64(view, 24, table.droppedUpTo);
  let o = HEADER_BYTES;
  for (const [id, state] of table.entries()) {
    putU64(view, o, id);
    view.setUint32(o + 8, state.epoch, true);
    putU64(view, o + 12, state.nextSequence);
    view.setUint8(o + 20, state.runs.length);
    o += PRODUCER_BYTES;
    for (const run of state.runs) {
      putU64(view, o, run.firstSequence);
      putU64(view, o + 8, run.count);
      putU64(view, o + 16, run.firstIndex);
      putU64(view, o + 24, run.term);
      o += RUN_BYTES;
    }
  }
  view.setUint32(CRC_AT, crc32c(bytes.subarray(CRC_AT + 4), crc32c(bytes.subarray(0, CRC_AT))), true);
  return bytes;
}

/**
 * The base in `bytes` as a table capped at maxProducers (the least recently used beyond the
 * cap are dropped, as the LRU would). Anything malformed, including a CRC mismatch, is
 * ERR_LOG_CORRUPT naming `where`.
 */
export function decodeProducerBase(bytes: Uint8Array, where: string, maxProducers?: number): ProducerBase {
  const corrupt = (why: string): RaftLedgerError => new RaftLedgerError('ERR_LOG_CORRUPT', `${where}: producer table ${why}`, { path: where, offset: 0 });
  if (bytes.byteLength < V1_HEADER_BYTES) throw corrupt(`is ${bytes.byteLength} bytes, shorter than its header`);
  const view = dataViewOf(bytes);
  if (view.getUint32(0, true) !== MAGIC) throw corrupt('has a bad magic number');
  const version = view.getUint32(4, true);
  if (version !== 1 && version !== VERSION) throw corrupt(`has unsupported version ${version}`);
  const headerBytes = version === 1 ? V1_HEADER_BYTES : HEADER_BYTES;
  if (bytes.byteLength < headerBytes) throw corrupt(`is ${bytes.byteLength} bytes, shorter than its ${headerBytes}-byte header`);
  if (crc32c(bytes.subarray(CRC_AT + 4), crc32c(bytes.subarray(0, CRC_AT))) !== view.getUint32(CRC_AT, true)) throw corrupt('CRC mismatch');
  const table = new ProducerTable(maxProducers);
  try {
    const upTo = getU64(view, 8);
    const count = view.getUint32(16, true);
    if (version !== 1) table.markDropped(getU64(view, 24));
    let o = headerBytes;
    for (let i = 0; i < count; i++) {
      if (o + PRODUCER_BYTES > bytes.byteLength) throw corrupt(`ends inside producer ${i} of ${count}`);
      const id = getU64(view, o);
      const epoch = view.getUint32(o + 8, true);
      const nextSequence = getU64(view, o + 12);
      const runCount = view.getUint8(o + 20);
      o += PRODUCER_BYTES;
      if (id < 1 || runCount > RUNS_PER_PRODUCER) throw corrupt(`producer ${i} is invalid (id ${id}, ${runCount} runs)`);
      if (o + runCount * RUN_BYTES > bytes.byteLength) throw corrupt(`ends inside the runs of producer ${id}`);
      const runs: SequenceRun[] = [];
      for (let k = 0; k < runCount; k++, o += RUN_BYTES) {
        runs.push({ firstSequence: getU64(view, o), count: getU64(view, o + 8), firstIndex: getU64(view, o + 16), term: getU64(view, o + 24) });
      }
      table.restore(id, { epoch, nextSequence, runs });
    }
    if (o !== bytes.byteLength) throw corrupt(`has ${bytes.byteLength - o} bytes after its last producer`);
    return { table, upTo };
  } catch (error) {
    if (error instanceof RaftLedgerError) throw error;
    throw corrupt((error as Error).message);
  }
}
