/**
 * Framing for every raftledger TCP stream (peer and client ports).
 *
 *   offset 0  u32 LE  length   bytes that follow this field (version + kind + body), >= 2
 *   offset 4  u8      version  PROTOCOL_VERSION (1)
 *   offset 5  u8      kind     one of FrameKind
 *   offset 6  ...     body     length - 2 bytes
 *
 * `length` is checked against a hard cap as soon as its 4 bytes are known,
 * before any body byte is buffered; version and kind are checked as soon as
 * their byte arrives. Every violation is a RaftLedgerError with code
 * ERR_PROTOCOL, and the reader stays failed afterwards.
 */
import { RaftLedgerError } from '../errors.js';

export const PROTOCOL_VERSION = 1;
/** Bytes before the body: length (4) + version (1) + kind (1). */
export const FRAME_HEADER_BYTES = 6;
/** Bytes counted by the length field besides the body: version + kind. */
export const FRAME_LENGTH_OVERHEAD = 2;
/** Default cap on the length field: a 64 MiB entry plus room for headers. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024 + 1024;
/** Bytes of the length field, which its value does not count. */
export const FRAME_LENGTH_FIELD_BYTES = 4;
/** First allocation for a body that spans chunks (unless the chunk already holds more). */

export const FrameKind = {
  /** Peer handshake (src/transport/handshake.ts). */
  Handshake: 1,
  /** Peer refused the connection; body is a UTF-8 reason. */
  Reject: 2,
  /** One Raft message for one group (src/transport/raft-codec.ts). */
  Raft: 3,
  /** One repair request or response for one group (src/transport/repair-frame.ts; issue 16). */
  Repair: 40,
  /** Client request (src/transport/client-codec.ts). */
  ClientRequest: 16,
  /** Client response (src/transport/client-codec.ts). */
  ClientResponse: 17,
  /** Client bearer token, the first frame on a client port with token auth; body: the token (src/server/client-auth.ts). */
  ClientAuth: 18,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

const KNOWN_KINDS: ReadonlySet<number> = new Set<number>(Object.values(FrameKind));

export function isFrameKind(value: number): value is FrameKind {
  return KNOWN_KINDS.has(value);
}

export interface Frame {
  kind: FrameKind;
  /** The frame body; a view of the socket chunk when the frame arrived in one piece. */
  body: Buffer;
}

/** The one way transport code reports untrusted input that is not acceptable. */
export function protocolError(reason: string, cause?: unknown): RaftLedgerError {
  return new RaftLedgerError('ERR_PROTOCOL', `protocol error: ${reason}`, {
    retriable: false,
    ...(cause !== undefined ? { cause } : {}),
  });
}

/** Write a frame header for a body of `bodyBytes` at `offset`; returns the body's offset. */
export function writeFrameHeader(target: Buffer, offset: number, kind: FrameKind, bodyBytes: number): number {
  target.writeUInt32LE(bodyBytes + FRAME_LENGTH_OVERHEAD, offset);
  target[offset + 4] = PROTOCOL_VERSION;
  target[offset + 5] = kind;
  return offset + FRAME_HEADER_BYTES;
}

/** A whole frame around `body` (one allocation, one copy of the body). */
export function encodeFrame(kind: FrameKind, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.byteLength);
  out.set(body, writeFrameHeader(out, 0, kind, body.byteLength));
  return out;
}

export interface FrameReaderOptions {
  /** Cap on the length field (version + kind + body). Default DEFAULT_MAX_FRAME_BYTES. */
  maxFrameBytes?: number;
}

function checkMaxFrameBytes(value: number): number {
  if (!Number.isSafeInteger(value) || value < FRAME_LENGTH_OVERHEAD || value > 0xffff_ffff) {
    throw new RangeError(`maxFrameBytes must be an integer in [2, 2^32-1], got ${value}`);
  }
  return value;
}

/**
 * Incremental frame parser. Feed socket chunks with push(), then call next()
 * until it returns null (or use frames(chunk), which does both).
 *
 * Memory: a frame that arrives inside one chunk is returned as a view of that
 * chunk (no copy). A frame split across chunks keeps views of the chunks its
 * body arrived in and is joined with one copy once complete, so a header that
 * declares 64 MiB costs nothing until the bytes come (heldBytes is the body
 * bytes received) and each body byte is copied once. The returned body is
 * exactly its declared size.
 * Unconsumed chunks are held only until next() walks over them.
 */
export class FrameReader {
  #maxFrameBytes: number;
  /** Chunks pushed and not yet fully parsed; #chunks[#head] is the current one. */
  #chunks: (Buffer | undefined)[] = [];
  #head = 0;
  #offset = 0;
  /** Header bytes of a frame whose header spans chunks. */
  readonly #header = Buffer.alloc(FRAME_HEADER_BYTES);
  #headerFill = 0;
  /** Body under assembly (frame spans chunks): a buffer of capacity <= #bodySize, its fill, its kind. */
  /** The received parts of a body that spans chunks (views of the pushed chunks), or null. */
  #body: Buffer[] | null = null;
  #bodySize = 0;
  #bodyFill = 0;
  #bodyKind: FrameKind = FrameKind.Raft;
  #error: RaftLedgerError | null = null;
  #bytesIn = 0;

  constructor(options: FrameReaderOptions = {}) {
    this.#maxFrameBytes = checkMaxFrameBytes(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  }

  get maxFrameBytes(): number {
    return this.#maxFrameBytes;
  }

  /** Takes effect from the next frame header parsed (e.g. raise the cap after a handshake). */
  set maxFrameBytes(value: number) {
    this.#maxFrameBytes = checkMaxFrameBytes(value);
  }

  /** The error that failed this reader, if any. */
  get error(): RaftLedgerError | null {
    return this.#error;
  }

  /** Bytes pushed so far. */
  get bytesIn(): number {
    return this.#bytesIn;
  }

  /** Bytes received that belong to frames not yet returned by next(). */
  get bufferedBytes(): number {
    let n = this.#headerFill + (this.#body !== null ? FRAME_HEADER_BYTES + this.#bodyFill : 0);
    for (let i = this.#head; i < this.#chunks.length; i++) n += this.#chunks[i]?.length ?? 0;
    return n - this.#offset;
  }

  /** Memory this reader holds for the unfinished frame (header bytes and body capacity). */
  get heldBytes(): number {
    return (this.#headerFill > 0 ? FRAME_HEADER_BYTES : 0) + (this.#body !== null ? FRAME_HEADER_BYTES + this.#bodyFill : 0);
  }

  push(chunk: Uint8Array): void {
    if (this.#error !== null) throw this.#error;
    if (chunk.byteLength === 0) return;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.#bytesIn += buf.length;
    this.#chunks.push(buf);
  }

  /** The next complete frame, or null when more bytes are needed. Throws ERR_PROTOCOL on malformed input. */
  next(): Frame | null {
    if (this.#error !== null) throw this.#error;
    try {
      return this.#next();
    } catch (error) {
      this.#error = error instanceof RaftLedgerError ? error : protocolError('frame reader failed', error);
      this.#chunks = [];
      this.#head = 0;
      this.#offset = 0;
      this.#body = null;
      this.#bodySize = 0;
      this.#bodyFill = 0;
      this.#headerFill = 0;
      throw this.#error;
    }
  }

  /** push(chunk), then yield every complete frame. Consume the iterator fully. */
  *frames(chunk: Uint8Array): Generator<Frame, void, undefined> {
    this.push(chunk);
    for (let frame = this.next(); frame !== null; frame = this.next()) yield frame;
  }

  #next(): Frame | null {
    for (;;) {
      const chunk = this.#chunks[this.#head];
      if (chunk === undefined) {
        if (this.#head > 0) {
          this.#chunks = [];
          this.#head = 0;
        }
        return null;
      }
      const avail = chunk.length - this.#offset;
      if (avail === 0) {
        this.#chunks[this.#head] = undefined; // release the chunk
        this.#head++;
        this.#offset = 0;
        continue;
      }

      if (this.#body !== null) {
        // Assembling a body that spans chunks.
        const take = Math.min(this.#bodySize - this.#bodyFill, avail);
        this.#body.push(chunk.subarray(this.#offset, this.#offset + take));
        this.#bodyFill += take;
        this.#offset += take;
        if (this.#bodyFill === this.#bodySize) {
          const frame: Frame = { kind: this.#bodyKind, body: Buffer.concat(this.#body, this.#bodySize) };
          this.#body = null;
          this.#bodySize = 0;
          this.#bodyFill = 0;
          return frame;
        }
        continue;
      }

      let length: number;
      let kind: FrameKind;
      if (this.#headerFill === 0 && avail >= FRAME_HEADER_BYTES) {
        // Fast path: the whole header is in this chunk.
        const at = this.#offset;
        length = this.#checkLength(chunk.readUInt32LE(at));
        this.#checkVersion(chunk[at + 4]!);
        kind = this.#checkKind(chunk[at + 5]!);
        this.#offset += FRAME_HEADER_BYTES;
      } else {
        // Slow path: collect the header byte by byte, checking each field as it completes.
        while (this.#headerFill < FRAME_HEADER_BYTES && this.#offset < chunk.length) {
          this.#header[this.#headerFill++] = chunk[this.#offset++]!;
          if (this.#headerFill === 4) this.#checkLength(this.#header.readUInt32LE(0));
          else if (this.#headerFill === 5) this.#checkVersion(this.#header[4]!);
          else if (this.#headerFill === 6) this.#checkKind(this.#header[5]!);
        }
        if (this.#headerFill < FRAME_HEADER_BYTES) continue;
        this.#headerFill = 0;
        length = this.#header.readUInt32LE(0);
        kind = this.#header[5] as FrameKind;
      }

      const bodyBytes = length - FRAME_LENGTH_OVERHEAD;
      const rest = chunk.length - this.#offset;
      if (bodyBytes <= rest) {
        const body = chunk.subarray(this.#offset, this.#offset + bodyBytes);
        this.#offset += bodyBytes;
        return { kind, body };
      }
      // The body spans chunks: keep views of its parts, join them once complete (see the class comment).
      this.#body = [chunk.subarray(this.#offset)];
      this.#bodySize = bodyBytes;
      this.#bodyKind = kind;
      this.#bodyFill = rest;
      this.#offset = chunk.length;
    }
  }

  #checkLength(length: number): number {
    if (length < FRAME_LENGTH_OVERHEAD) {
      throw protocolError(`frame length ${length} is too small (minimum ${FRAME_LENGTH_OVERHEAD})`);
    }
    if (length > this.#maxFrameBytes) {
      throw protocolError(`frame length ${length} exceeds the cap of ${this.#maxFrameBytes} bytes`);
    }
    return length;
  }

  #checkVersion(version: number): void {
    if (version !== PROTOCOL_VERSION) {
      throw protocolError(`unsupported protocol version ${version} (expected ${PROTOCOL_VERSION})`);
    }
  }

  #checkKind(kind: number): FrameKind {
    if (!KNOWN_KINDS.has(kind)) throw protocolError(`unknown frame kind ${kind}`);
    return kind as FrameKind;
  }
}
