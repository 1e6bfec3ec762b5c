/**
 * The wire form of the replica-level repair exchange (issue 16; src/replica/repair.ts):
 * a request for damaged records by index with their expected term and pos, and the
 * answer with verbatim records. Outside the Raft core; the message type numbers 40 (request)
 * and 41 (response) are taken from the range reserved for repair (40-49) so that they can
 * share a frame stream with Raft messages later.
 *
 * Layout (little-endian):
 *   request:  u8 type=40 | u8 version=1 | u32 requestId | f64 fromIndex | f64 toIndex |
 *             u32 count | count x (f64 index | f64 term | f64 pos)
 *   response: u8 type=41 | u8 version=1 | u32 requestId | u32 count |
 *             count x (f64 index | f64 term | f64 pos | u32 sizeBytes | bytes)
 * Integers above 2^32 travel as f64 holding safe integers. Decoding never trusts a count or
 * size: everything is bounds-checked against the frame, and any violation is ERR_PROTOCOL.
 */
import { RaftLedgerError } from '../errors.js';

export const REPAIR_REQUEST_TYPE = 40;
export const REPAIR_RESPONSE_TYPE = 41;
const VERSION = 1;
/** The most wants or records one frame may carry. */
export const MAX_REPAIR_ITEMS = 1024;

export interface RepairWantWire {
  index: number;
  term: number;
  pos: number;
}
export interface RepairRequestFrame {
  requestId: number;
  fromIndex: number;
  toIndex: number;
  want: RepairWantWire[];
}
export interface RepairRecordWire extends RepairWantWire {
  record: Uint8Array;
}
export interface RepairResponseFrame {
  requestId: number;
  records: RepairRecordWire[];
}

function bad(message: string): RaftLedgerError {
  return new RaftLedgerError('ERR_PROTOCOL', `repair frame: ${message}`);
}

class Reader {
  #o = 0;
  constructor(readonly view: DataView) {}
  need(n: number): void {
    if (this.#o + n > this.view.byteLength) throw bad(`truncated at byte ${this.#o} (need ${n} more of ${this.view.byteLength})`);
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.#o++);
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.#o, true);
    this.#o += 4;
    return v;
  }
  int(what: string, min: number): number {
    this.need(8);
    const v = this.view.getFloat64(this.#o, true);
    this.#o += 8;
    if (!Number.isSafeInteger(v) || v < min) throw bad(`${what} must be a safe integer >= ${min}, got ${v}`);
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = new Uint8Array(this.view.buffer, this.view.byteOffset + this.#o, n).slice();
    this.#o += n;
    return out;
  }
  end(): void {
    if (this.#o !== this.view.byteLength) throw bad(`${this.view.byteLength - this.#o} trailing bytes`);
  }
}

function head(r: Reader, type: number): number {
  const t = r.u8();
  if (t !== type) throw bad(`type ${t}, expected ${type}`);
  const v = r.u8();
  if (v !== VERSION) throw bad(`version ${v}, this build speaks ${VERSION}`);
  return r.u32();
}

function count(r: Reader): number {
  const n = r.u32();
  if (n > MAX_REPAIR_ITEMS) throw bad(`count ${n} over ${MAX_REPAIR_ITEMS}`);
  return n;
}

export function encodeRepairRequest(f: RepairRequestFrame): Uint8Array {
  if (f.want.length > MAX_REPAIR_ITEMS) throw new RangeError(`a repair request carries at most ${MAX_REPAIR_ITEMS} wants`);
  const buf = new Uint8Array(1 + 1 + 4 + 8 + 8 + 4 + f.want.length * 24);
  const v = new DataView(buf.buffer);
  v.setUint8(0, REPAIR_REQUEST_TYPE);
  v.setUint8(1, VERSION);
  v.setUint32(2, f.requestId >>> 0, true);
  v.setFloat64(6, f.fromIndex, true);
  v.setFloat64(14, f.toIndex, true);
  v.setUint32(22, f.want.length, true);
  let o = 26;
  for (const w of f.want) {
    v.setFloat64(o, w.index, true);
    v.setFloat64(o + 8, w.term, true);
    v.setFloat64(o + 16, w.pos, true);
    o += 24;
  }
  return buf;
}

export function decodeRepairRequest(frame: Uint8Array): RepairRequestFrame {
  const r = new Reader(new DataView(frame.buffer, frame.byteOffset, frame.byteLength));
  const requestId = head(r, REPAIR_REQUEST_TYPE);
  const fromIndex = r.int('fromIndex', 1);
  const toIndex = r.int('toIndex', fromIndex);
  const n = count(r);
  const want: RepairWantWire[] = [];
  for (let i = 0; i < n; i++) want.push({ index: r.int('index', 1), term: r.int('term', 0), pos: r.int('pos', 0) });
  r.end();
  return { requestId, fromIndex, toIndex, want };
}

export function encodeRepairResponse(f: RepairResponseFrame): Uint8Array {
  if (f.records.length > MAX_REPAIR_ITEMS) throw new RangeError(`a repair response carries at most ${MAX_REPAIR_ITEMS} records`);
  let size = 1 + 1 + 4 + 4;
  for (const x of f.records) size += 28 + x.record.byteLength;
  const buf = new Uint8Array(size);
  const v = new DataView(buf.buffer);
  v.setUint8(0, REPAIR_RESPONSE_TYPE);
  v.setUint8(1, VERSION);
  v.setUint32(2, f.requestId >>> 0, true);
  v.setUint32(6, f.records.length, true);
  let o = 10;
  for (const x of f.records) {
    v.setFloat64(o, x.index, true);
    v.setFloat64(o + 8, x.term, true);
    v.setFloat64(o + 16, x.pos, true);
    v.setUint32(o + 24, x.record.byteLength, true);
    buf.set(x.record, o + 28);
    o += 28 + x.record.byteLength;
  }
  return buf;
}

export function decodeRepairResponse(frame: Uint8Array): RepairResponseFrame {
  const r = new Reader(new DataView(frame.buffer, frame.byteOffset, frame.byteLength));
  const requestId = head(r, REPAIR_RESPONSE_TYPE);
  const n = count(r);
  const records: RepairRecordWire[] = [];
  for (let i = 0; i < n; i++) {
    const index = r.int('index', 1);
    const term = r.int('term', 0);
    const pos = r.int('pos', 0);
    const size = r.u32();
    records.push({ index, term, pos, record: r.bytes(size) });
  }
  r.end();
  return { requestId, records };
}
