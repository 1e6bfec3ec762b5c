/**
 * The record and index-slot layouts of docs/FORMAT.md, in TypeScript.
 * native/format.h is the C++ twin; test/storage/format.test.ts checks that they agree.
 */

export const FORMAT_VERSION = 1;
export const RECORD_MAGIC = 0x474c4652; // bytes 52 46 4C 47 ("RFLG")
export const HEADER_SIZE_BYTES = 48;
export const CRC_COVERED_HEADER_BYTES = 44;
export const SLOT_SIZE_BYTES = 24;
/** Hard upper bound of maxEntrySizeBytes. */
export const MAX_ENTRY_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

export const RecordOffset = {
  magic: 0,
  version: 4,
  type: 5,
  flags: 6,
  totalSize: 8,
  bodySize: 12,
  index: 16,
  term: 24,
  pos: 32,
  reserved: 40,
  crc: 44,
} as const;

export const SlotOffset = { pos: 0, term: 8, size: 16, crc: 20 } as const;

export enum RecordType {
  Padding = 0,
  Normal = 1,
  Noop = 2,
  Config = 3,
}

/**
 * Record flag bits (the u16 at offset 6). FLAG_PRODUCER (bit 8, 0x0100; bits 0-7 stay unused
 * so that a flipped low bit is still caught as damage): a Normal record whose body starts
 * with the PRODUCER_HEADER_BYTES producer header (docs/FORMAT.md, "Producer header"); the
 * payload a reader sees is the body after it. No other bit may be set.
 */
export const FLAG_PRODUCER = 0x0100;
export const PRODUCER_HEADER_BYTES = 24;
export const ProducerHeaderOffset = { producerId: 0, sequence: 8, epoch: 16, reserved: 20 } as const;

/** Who wrote an idempotent entry (the producer header of a FLAG_PRODUCER record). */
export interface ProducerStamp {
  /** A safe integer >= 1. */
  producerId: number;
  epoch: number;
  /** This entry's sequence number (a safe integer >= 0), per producer and group. */
  sequence: number;
}

/** Write the producer header at `offset` of `view`. */
export function writeProducerHeader(view: DataView, offset: number, stamp: ProducerStamp, sequence = stamp.sequence): void {
  writeU64(view, offset + ProducerHeaderOffset.producerId, stamp.producerId);
  writeU64(view, offset + ProducerHeaderOffset.sequence, sequence);
  view.setUint32(offset + ProducerHeaderOffset.epoch, stamp.epoch, true);
  view.setUint32(offset + ProducerHeaderOffset.reserved, 0, true);
}

/** Read the producer header at `offset` of `view` (unchecked). */
export function readProducerHeader(view: DataView, offset: number): ProducerStamp {
  return {
    producerId: readU64(view, offset + ProducerHeaderOffset.producerId),
    sequence: readU64(view, offset + ProducerHeaderOffset.sequence),
    epoch: view.getUint32(offset + ProducerHeaderOffset.epoch, true),
  };
}

export interface RecordHeader {
  type: RecordType;
  totalSize: number;
  bodySize: number;
  index: number;
  term: number;
  pos: number;
  crc: number;
}

const TWO_32 = 0x1_0000_0000;

export function writeU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value >>> 0, true);
  view.setUint32(offset + 4, Math.floor(value / TWO_32), true);
}

export function readU64(view: DataView, offset: number): number {
  return view.getUint32(offset + 4, true) * TWO_32 + view.getUint32(offset, true);
}

export function dataViewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Write a record header (crc left 0; sealRecords or computeRecordCrc fills it).
 * `view` covers the whole destination; `offset` is the header's first byte.
 */
export function writeHeader(
  view: DataView,
  offset: number,
  type: RecordType,
  bodySize: number,
  index: number,
  term: number,
  pos: number,
  totalSize: number = HEADER_SIZE_BYTES + bodySize,
  flags = 0,
): void {
  view.setUint32(offset + RecordOffset.magic, RECORD_MAGIC, true);
  view.setUint8(offset + RecordOffset.version, FORMAT_VERSION);
  view.setUint8(offset + RecordOffset.type, type);
  view.setUint16(offset + RecordOffset.flags, flags, true);
  view.setUint32(offset + RecordOffset.totalSize, totalSize, true);
  view.setUint32(offset + RecordOffset.bodySize, bodySize, true);
  writeU64(view, offset + RecordOffset.index, index);
  writeU64(view, offset + RecordOffset.term, term);
  writeU64(view, offset + RecordOffset.pos, pos);
  view.setUint32(offset + RecordOffset.reserved, 0, true);
  view.setUint32(offset + RecordOffset.crc, 0, true);
}

/** The flag bits (FLAG_PRODUCER) of the record header at `offset` (unchecked). */
export function readRecordFlags(view: DataView, offset: number): number {
  return view.getUint16(offset + RecordOffset.flags, true);
}

/** Decode a header without validating it (see the native scanner for validation). */
export function readHeader(view: DataView, offset: number): RecordHeader {
  return {
    type: view.getUint8(offset + RecordOffset.type) as RecordType,
    totalSize: view.getUint32(offset + RecordOffset.totalSize, true),
    bodySize: view.getUint32(offset + RecordOffset.bodySize, true),
    index: readU64(view, offset + RecordOffset.index),
    term: readU64(view, offset + RecordOffset.term),
    pos: readU64(view, offset + RecordOffset.pos),
    crc: view.getUint32(offset + RecordOffset.crc, true),
  };
}

export interface IndexSlot {
  pos: number;
  term: number;
  size: number;
  crc: number;
}

export function readSlot(view: DataView, offset: number): IndexSlot {
  return {
    pos: readU64(view, offset + SlotOffset.pos),
    term: readU64(view, offset + SlotOffset.term),
    size: view.getUint32(offset + SlotOffset.size, true),
    crc: view.getUint32(offset + SlotOffset.crc, true),
  };
}

export function writeSlot(view: DataView, offset: number, slot: IndexSlot): void {
  writeU64(view, offset + SlotOffset.pos, slot.pos);
  writeU64(view, offset + SlotOffset.term, slot.term);
  view.setUint32(offset + SlotOffset.size, slot.size, true);
  view.setUint32(offset + SlotOffset.crc, slot.crc, true);
}

/** 20-digit zero-padded decimal, the segment naming convention of RocketMQ/DLedger. */
export function segmentFileName(value: number): string {
  return String(value).padStart(20, '0');
}

const SEGMENT_NAME = /^\d{20}$/;

export function parseSegmentFileName(name: string): number | undefined {
  if (!SEGMENT_NAME.test(name)) return undefined;
  const value = Number(name);
  return Number.isSafeInteger(value) ? value : undefined;
}
