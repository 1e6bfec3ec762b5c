/**
 * Record structure, in TypeScript: the one place outside the addon that checks a record
 * header (docs/FORMAT.md; the layout constants are in ./format.ts, the C++ twin of both
 * is native/format.h + native/scan.cc, and test/storage/format.test.ts checks that they
 * agree). Pure TypeScript, no addon: the transport's decoder uses it at the network
 * boundary (transport/ may import storage's record-format modules).
 *
 * Who checks what, once per record that arrives from a leader:
 *  - structure (this module, called by the decoder, transport/raft-codec.ts): magic,
 *    version, type (a data record: Normal, Noop or Config), flags (only FLAG_PRODUCER, on a
 *    Normal record with a body of at least the producer header) and reserved zero,
 *    totalSize == 48 + bodySize within the frame, index continuing the batch, term not
 *    below the previous record's, index, term and pos below 2^53. The decoder is the
 *    first code that sees the bytes and the one that turns them into entries whose
 *    index, term and type the Raft core then trusts, so the check belongs there;
 *  - content (./received.ts verifyRecordCrcs, called by Ledger.receive before the core
 *    sees the entries, so that a damaged frame is dropped rather than written): CRC32C;
 *  - fit with this log (SegmentedLog.appendRecords): index == lastIndex + 1, term order
 *    across the batch boundary, placement (pos) and the entry size limit.
 */
import { FLAG_PRODUCER, FORMAT_VERSION, HEADER_SIZE_BYTES, PRODUCER_HEADER_BYTES, ProducerHeaderOffset, RECORD_MAGIC, RecordOffset, RecordType, type ProducerStamp } from './format.js';

/** Why a header is not a valid data record (the names of the native scanner's InvalidReason). */
export type RecordFault = 'magic' | 'version' | 'type' | 'flags' | 'size' | 'index' | 'term' | 'pos';

export interface RecordProblem {
  reason: RecordFault;
  /** Human-readable, e.g. 'has record type 0' (callers prefix the record's identity). */
  detail: string;
}

const TWO_32 = 0x1_0000_0000;
const MAX_HIGH_WORD = 0x1f_ffff; // high 32 bits of 2^53 - 1

function u32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}

/** A u64 field, or -1 when it is 2^53 or more (not a safe integer). */
function safeU64(bytes: Uint8Array, offset: number): number {
  const high = u32(bytes, offset + 4);
  return high > MAX_HIGH_WORD ? -1 : high * TWO_32 + u32(bytes, offset);
}

/** totalSize of the record whose header starts at `offset` (unchecked). */
export function recordTotalSize(bytes: Uint8Array, offset = 0): number {
  return u32(bytes, offset + RecordOffset.totalSize);
}

/** index of the record whose header starts at `offset`; -1 when it is not a safe integer (unchecked otherwise). */
export function recordIndex(bytes: Uint8Array, offset = 0): number {
  return safeU64(bytes, offset + RecordOffset.index);
}

/** term of the record whose header starts at `offset`; -1 when it is not a safe integer (unchecked otherwise). */
export function recordTerm(bytes: Uint8Array, offset = 0): number {
  return safeU64(bytes, offset + RecordOffset.term);
}

/** pos of the record whose header starts at `offset`; -1 when it is not a safe integer (unchecked otherwise). */
export function recordPos(bytes: Uint8Array, offset = 0): number {
  return safeU64(bytes, offset + RecordOffset.pos);
}

/** The crc field of the record whose header starts at `offset` (unchecked). */
export function recordCrc(bytes: Uint8Array, offset = 0): number {
  return u32(bytes, offset + RecordOffset.crc);
}

/** flags of the record whose header starts at `offset` (unchecked). */
function recordFlags(bytes: Uint8Array, offset: number): number {
  return bytes[offset + RecordOffset.flags]! | (bytes[offset + RecordOffset.flags + 1]! << 8);
}

/**
 * The producer header of the record whose header starts at `offset`, or undefined when it
 * carries none (FLAG_PRODUCER clear). Unchecked: the record passed checkDataRecord, which
 * makes sure a flagged record is long enough for the producer header.
 */
export function recordProducer(bytes: Uint8Array, offset = 0): ProducerStamp | undefined {
  if ((recordFlags(bytes, offset) & FLAG_PRODUCER) === 0) return undefined;
  const h = offset + HEADER_SIZE_BYTES;
  return {
    producerId: u32(bytes, h + ProducerHeaderOffset.producerId + 4) * TWO_32 + u32(bytes, h + ProducerHeaderOffset.producerId),
    epoch: u32(bytes, h + ProducerHeaderOffset.epoch),
    sequence: u32(bytes, h + ProducerHeaderOffset.sequence + 4) * TWO_32 + u32(bytes, h + ProducerHeaderOffset.sequence),
  };
}

/** type byte of the record whose header starts at `offset` (unchecked). */
export function recordType(bytes: Uint8Array, offset = 0): RecordType {
  return bytes[offset + RecordOffset.type]! as RecordType;
}

/**
 * The structure check of one data record (not padding) whose header starts at `offset`,
 * with `available` bytes from there to the end of the buffer it must fit in: the record
 * must have index `expectedIndex` and a term >= `minTerm`. Returns undefined when it is
 * valid. The CRC is not checked here (see the module comment).
 */
export function checkDataRecord(bytes: Uint8Array, offset: number, available: number, expectedIndex: number, minTerm: number): RecordProblem | undefined {
  if (available < HEADER_SIZE_BYTES) return { reason: 'size', detail: 'header truncated' };
  if (u32(bytes, offset + RecordOffset.magic) !== RECORD_MAGIC) return { reason: 'magic', detail: 'has a bad record magic' };
  const version = bytes[offset + RecordOffset.version]!;
  if (version !== FORMAT_VERSION) return { reason: 'version', detail: `has record version ${version}` };
  const type = bytes[offset + RecordOffset.type]!;
  if (type < RecordType.Normal || type > RecordType.Config) return { reason: 'type', detail: `has record type ${type}` };
  const flags = recordFlags(bytes, offset);
  if ((flags & ~FLAG_PRODUCER) !== 0 || u32(bytes, offset + RecordOffset.reserved) !== 0) return { reason: 'flags', detail: 'has nonzero flags or reserved bits' };
  const totalSize = recordTotalSize(bytes, offset);
  const bodySize = u32(bytes, offset + RecordOffset.bodySize);
  if (flags !== 0 && (type !== RecordType.Normal || bodySize < PRODUCER_HEADER_BYTES)) {
    return { reason: 'flags', detail: 'has the producer flag without room for a producer header (or on a non-normal record)' };
  }
  if (totalSize !== HEADER_SIZE_BYTES + bodySize) {
    return { reason: 'size', detail: `totalSize ${totalSize} != ${HEADER_SIZE_BYTES} + bodySize ${bodySize}` };
  }
  if (totalSize > available) return { reason: 'size', detail: `(${totalSize} bytes) overruns the buffer` };
  const index = recordIndex(bytes, offset);
  if (index !== expectedIndex) {
    return { reason: 'index', detail: `has index ${index < 0 ? '>= 2^53' : index}, out of sequence (expected ${expectedIndex})` };
  }
  const term = recordTerm(bytes, offset);
  if (term < 0) return { reason: 'term', detail: 'term exceeds 2^53-1' };
  if (term < minTerm) return { reason: 'term', detail: `term ${term} is below the previous term ${minTerm}` };
  if (recordPos(bytes, offset) < 0) return { reason: 'pos', detail: 'pos exceeds 2^53-1' };
  return undefined;
}
