/**
 * Little-endian field helpers shared by the transport codecs: a bounds-checked
 * cursor for decoding untrusted bytes (every failure is ERR_PROTOCOL) and
 * writers for encoding trusted values (a bad value is a TypeError/RangeError).
 */
import { protocolError } from './frame.js';

const TWO_32 = 0x1_0000_0000;
/** High 32 bits of Number.MAX_SAFE_INTEGER. */
const MAX_SAFE_HI = 0x1f_ffff;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decode UTF-8 strictly (invalid sequences are a protocol error). */
export function decodeUtf8(bytes: Buffer, field: string): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return bytes.toString('latin1');
  try {
    return utf8.decode(bytes);
  } catch (error) {
    throw protocolError(`${field} is not valid UTF-8`, error);
  }
}

/** A cursor over untrusted bytes. */
export class WireReader {
  readonly #buf: Buffer;
  readonly #what: string;
  #pos = 0;

  constructor(buf: Buffer, what: string) {
    this.#buf = buf;
    this.#what = what;
  }

  get offset(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.#buf.length - this.#pos;
  }

  #need(n: number, field: string): number {
    const at = this.#pos;
    if (n > this.#buf.length - at) {
      throw protocolError(`${this.#what}: truncated at ${field} (need ${n} bytes at offset ${at}, have ${this.#buf.length - at})`);
    }
    this.#pos = at + n;
    return at;
  }

  u8(field: string): number {
    return this.#buf[this.#need(1, field)]!;
  }

  u16(field: string): number {
    return this.#buf.readUInt16LE(this.#need(2, field));
  }

  u32(field: string): number {
    return this.#buf.readUInt32LE(this.#need(4, field));
  }

  /** A u64 that must be a JavaScript safe integer. */
  u64(field: string): number {
    const at = this.#need(8, field);
    const hi = this.#buf.readUInt32LE(at + 4);
    if (hi > MAX_SAFE_HI) throw protocolError(`${this.#what}: ${field} exceeds 2^53-1`);
    return hi * TWO_32 + this.#buf.readUInt32LE(at);
  }

  /** A view of the next n bytes (no copy). */
  bytes(n: number, field: string): Buffer {
    const at = this.#need(n, field);
    return this.#buf.subarray(at, at + n);
  }

  /** u8 length + UTF-8 bytes; `min` bytes at least. */
  str8(field: string, min = 0): string {
    const n = this.u8(`${field} length`);
    if (n < min) throw protocolError(`${this.#what}: ${field} is empty`);
    return decodeUtf8(this.bytes(n, field), `${this.#what}: ${field}`);
  }

  /** u32 length (at most `max`) + UTF-8 bytes. */
  str32(field: string, max: number): string {
    const n = this.u32(`${field} length`);
    if (n > max) throw protocolError(`${this.#what}: ${field} is ${n} bytes (cap ${max})`);
    return decodeUtf8(this.bytes(n, field), `${this.#what}: ${field}`);
  }

  /** Every byte must have been consumed. */
  end(): void {
    if (this.#pos !== this.#buf.length) {
      throw protocolError(`${this.#what}: ${this.#buf.length - this.#pos} trailing bytes`);
    }
  }
}

/** Write a non-negative safe integer as u64 LE; returns the next offset. */
export function putU64(target: Buffer, offset: number, value: number): number {
  target.writeUInt32LE(value >>> 0, offset);
  target.writeUInt32LE(Math.floor(value / TWO_32), offset + 4);
  return offset + 8;
}

export function checkU64(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${field} must be a non-negative safe integer, got ${String(value)}`);
  }
  return value;
}

export function checkU32(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new RangeError(`${field} must be an integer in [0, 2^32-1], got ${String(value)}`);
  }
  return value;
}

const SHORT_CACHE_LIMIT = 1024;
const LONE_SURROGATE = /\p{Cs}/u;
const shortStrings = new Map<string, Buffer>();

/**
 * UTF-8 bytes of a short string (1..255 bytes unless `allowEmpty`), cached:
 * node ids and cluster ids repeat on every message.
 */
export function shortUtf8(value: unknown, field: string, allowEmpty = false): Buffer {
  if (typeof value !== 'string') throw new TypeError(`${field} must be a string`);
  let bytes = shortStrings.get(value);
  if (bytes === undefined) {
    if (LONE_SURROGATE.test(value)) throw new TypeError(`${field} is not well-formed Unicode`);
    bytes = Buffer.from(value, 'utf8');
    if (bytes.length > 255) throw new RangeError(`${field} is ${bytes.length} UTF-8 bytes (cap 255)`);
    if (shortStrings.size >= SHORT_CACHE_LIMIT) shortStrings.clear();
    shortStrings.set(value, bytes);
  }
  if (bytes.length === 0 && !allowEmpty) throw new TypeError(`${field} must not be empty`);
  return bytes;
}

/** Write u8 length + bytes; returns the next offset. */
export function putStr8(target: Buffer, offset: number, bytes: Buffer): number {
  target[offset] = bytes.length;
  target.set(bytes, offset + 1);
  return offset + 1 + bytes.length;
}

/** Write u32 length + bytes; returns the next offset. */
export function putBytes32(target: Buffer, offset: number, bytes: Uint8Array): number {
  target.writeUInt32LE(bytes.byteLength, offset);
  target.set(bytes, offset + 4);
  return offset + 4 + bytes.byteLength;
}
