/**
 * The typed contract of the C++ addon (build/Release/raftledger.node) and its loader.
 *
 * Only src/storage/ imports this module. The addon is a small, flat API of handle
 * objects (better-sqlite3 / classic-level style): it never decides policy; offsets,
 * validation of arguments that come from users, and state machines live in TypeScript.
 *
 * Error contract: every error the addon throws or rejects with is an `Error` with a
 * stable `code` string (see NativeErrorCode) and, for OS errors, `errno` (number),
 * `syscall` and `path`. The addon never aborts the process on bad arguments: it throws
 * `TypeError` / `RangeError` (code ERR_INVALID_ARG / ERR_OUT_OF_RANGE).
 *
 * Threads: flush(), prefault(), close(), atomicWriteFile() and syncDirectory() run on
 * the addon's own background thread (one per JS environment, i.e. per worker thread,
 * named rl-flusher), never on the libuv pool and never on the event loop; the msyncs of
 * one group commit over several segments run at once on up to 15 helper threads of that
 * environment (rl-sync, started when first needed). Promises are settled on the JS
 * thread that created them. write()/zero() are pwrite calls on the event loop's
 * thread (page-cache copies; they do not wait for the disk). lockFile()/unlockFile() are a
 * few small syscalls on the calling thread (the flock never waits: LOCK_NB). Nothing else blocks.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export type NativeErrorCode =
  | 'ERR_NO_SPACE' // ENOSPC, EDQUOT
  | 'ERR_ACCESS' // EACCES, EPERM, EROFS
  | 'ERR_NOT_FOUND' // ENOENT
  | 'ERR_EXISTS' // EEXIST
  | 'ERR_IO' // EIO and every other OS error; also a failed msync (the segment then refuses writes)
  | 'ERR_SEGMENT_SIZE' // an existing segment file is larger than the expected size
  | 'ERR_CLOSED' // the handle was closed
  | 'ERR_SEALED' // write/zero on a segment opened read-only
  | 'ERR_INVALID_ARG'
  | 'ERR_OUT_OF_RANGE';

/** Why a scan stopped. */
export type ScanStop =
  | 'end' // reached `end` exactly
  | 'zeros' // a 48-byte all-zero header: unwritten space
  | 'short' // fewer than 48 bytes left before `end` (segment scans: and they are all zero)
  | 'padding' // a valid padding record; `end` is the segment end
  | 'slots-full' // slotsOut has no room for the next record's slot
  | 'invalid'; // a record that is not valid; see `reason` and `invalidOffset`

export type InvalidReason =
  | 'magic'
  | 'version'
  | 'type'
  | 'flags'
  | 'size' // totalSize/bodySize inconsistent or past the end of the range/segment
  | 'pos' // pos field != expected absolute position
  | 'index' // index != expectedIndex (or previous + 1)
  | 'term' // term smaller than the previous record's term
  | 'crc'
  | 'nonzero-tail'; // fewer than 48 bytes left in a segment but not all zero

export interface ScanResult {
  /** Offset (relative to the buffer / segment) just past the last valid record. */
  end: number;
  /** Number of valid non-padding records walked. */
  count: number;
  /** Index/term of the first and last valid non-padding record (0 when count is 0). */
  firstIndex: number;
  lastIndex: number;
  lastTerm: number;
  /** Sum of bodySize of the valid records. */
  bodyBytes: number;
  stop: ScanStop;
  /** Set when stop is 'invalid'. */
  reason?: InvalidReason;
  invalidOffset?: number;
}

export interface ScanOptions {
  /**
   * When set, the record at offset `o` must carry pos == basePos + (o - start), and a
   * padding record is valid when totalSize == segmentSizeBytes - ((basePos + o - start) % segmentSizeBytes).
   * When absent (wire batches), pos is not checked and a padding record is invalid.
   */
  basePos?: number;
  segmentSizeBytes?: number;
  /** When set, the first record must have this index (later records: previous + 1). */
  expectedIndex?: number;
  /** When set, the first record's term must be >= this. */
  minTerm?: number;
  /** Receives one 24-byte index slot (docs/FORMAT.md) per valid non-padding record. */
  slotsOut?: Uint8Array;
  /** Stop after this many non-padding records (stop = 'end'). */
  maxRecords?: number;
}

export interface NativeSegment {
  readonly path: string;
  readonly sizeBytes: number;
  /** File size found at open before it was extended with zeros (== sizeBytes when it was whole). */
  readonly originalSizeBytes: number;
  readonly closed: boolean;

  /**
   * Write `data` at `offset` (pwrite: the mapping itself is always read-only, so writeback never
   * has to write-protect pages again; reads through the mapping see the bytes at once).
   * Throws ERR_SEALED (opened read-only), ERR_CLOSED, ERR_IO (after a failed flush, or a failed pwrite), ERR_NO_SPACE.
   */
  write(offset: number, data: Uint8Array): void;
  /** A fresh Buffer holding a copy of [offset, offset+length). */
  read(offset: number, length: number): Buffer;
  /** Copy [offset, offset+length) into target at targetOffset. */
  readInto(offset: number, length: number, target: Uint8Array, targetOffset: number): void;
  /** Write zeros over [offset, offset+length). ERR_SEALED when opened read-only. */
  zero(offset: number, length: number): void;
  /**
   * Durably store [offset, offset+length) (msync MS_SYNC) on the flusher thread. Requests
   * queued while a flush runs are coalesced into one msync per segment (group commit).
   * A failure rejects with ERR_IO (or ERR_NO_SPACE) and latches: later write()/zero()
   * throw ERR_IO and later flush() calls return a promise rejected with ERR_IO. On a closed
   * handle flush() (like every method but close()) throws ERR_CLOSED synchronously.
   */
  flush(offset: number, length: number): Promise<void>;
  /**
   * Bring every page of [offset, offset+length) (default: the whole segment) into the page cache
   * on a background thread (MADV_POPULATE_READ, or one read per page), so that writes find them.
   */
  prefault(offset?: number, length?: number): Promise<void>;
  /** Walk records in [start, end) of the mapping; basePos defaults to the segment's own base. */
  scan(start: number, end: number, options?: ScanOptions): ScanResult;
  /**
   * Offset of the first valid record (CRC and pos checked) at or after `start`, or -1.
   * `basePos` is the segment's base (the pos of its byte 0): a record at offset o must carry
   * pos == basePos + o.
   */
  findValidRecord(start: number, end: number, basePos: number): number;
  /** Settles after in-flight flush/prefault finish. Idempotent. */
  close(): Promise<void>;
}

/** The record layout constants compiled into the addon (native/format.h, docs/FORMAT.md). */
export interface NativeFormat {
  readonly version: number;
  readonly magic: number;
  readonly headerSizeBytes: number;
  readonly crcCoveredHeaderBytes: number;
  readonly types: { readonly padding: number; readonly normal: number; readonly noop: number; readonly config: number };
  readonly offsets: {
    readonly magic: number;
    readonly version: number;
    readonly type: number;
    readonly flags: number;
    readonly totalSize: number;
    readonly bodySize: number;
    readonly index: number;
    readonly term: number;
    readonly pos: number;
    readonly reserved: number;
    readonly crc: number;
  };
  readonly slotSizeBytes: number;
  readonly slotOffsets: { readonly pos: number; readonly term: number; readonly size: number; readonly crc: number };
}

export interface NativeAddon {
  /** Layout constants as compiled into the addon, so tests can check C++ and TypeScript agree. */
  readonly format: NativeFormat;
  crc32c(data: Uint8Array, seed?: number): number;
  /** The byte-at-a-time table implementation (for tests and benchmarks). */
  crc32cPortable(data: Uint8Array, seed?: number): number;
  /** The hardware implementation; throws ERR_INVALID_ARG where the CPU has none. */
  crc32cHardware(data: Uint8Array, seed?: number): number;
  /** 'sse4.2' | 'armv8' | 'portable': what crc32c() uses on this CPU. */
  crc32cImplementation(): string;
  /** Compute and store the crc field of every record packed in data[start, end). Returns the count. */
  sealRecords(data: Uint8Array, start: number, end: number): number;
  /**
   * Offset of the first record in data[start, end) whose CRC does not match, or that cannot
   * be walked (totalSize < 48 or past `end`); -1 when every CRC matches. Checks nothing else:
   * for records whose structure was checked on arrival (storage/records.ts).
   */
  findBadRecordCrc(data: Uint8Array, start: number, end: number): number;
  /** Like NativeSegment.scan over a plain buffer. */
  scanRecords(data: Uint8Array, start: number, end: number, options?: ScanOptions): ScanResult;
  /** O_CREAT|O_EXCL, fallocate sizeBytes (zeros), mmap MAP_SHARED read/write. */
  createSegment(path: string, sizeBytes: number): NativeSegment;
  /**
   * Map an existing segment. A file shorter than sizeBytes is extended with zeros (unless
   * readOnly) and reports originalSizeBytes; a longer one throws ERR_SEGMENT_SIZE.
   */
  openSegment(path: string, sizeBytes: number, options?: { readOnly?: boolean }): NativeSegment;
  /** Write path.tmp, fsync it, rename over path, fsync the directory, on the flusher thread. */
  atomicWriteFile(path: string, data: Uint8Array): Promise<void>;
  /** fsync a directory (after creating or unlinking files in it), on the flusher thread. */
  syncDirectory(path: string): Promise<void>;
  /**
   * Open (O_CREAT|O_CLOEXEC) and flock(LOCK_EX|LOCK_NB) the file at `path` on the calling
   * thread (a few small syscalls, never waiting for the lock). Returns the descriptor, or -1
   * when another open file description holds the lock (another process, or this one through
   * another lockFile call). On success the file's contents are replaced by `contents`.
   * The lock belongs to the calling thread's JS environment: it is released by unlockFile,
   * when that environment exits (a worker thread that dies), or by the kernel when the
   * process dies. Other OS errors throw (ERR_NOT_FOUND, ERR_ACCESS, ERR_IO).
   */
  lockFile(path: string, contents: Uint8Array): number;
  /** Release a lock lockFile returned on this thread (closes its descriptor). RangeError for any other fd. */
  unlockFile(fd: number): void;
}

function locateAddon(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // src/storage or dist/storage -> project root
  const root = join(here, '..', '..');
  for (const candidate of [
    join(root, 'build', 'Release', 'raftledger.node'),
    join(root, 'build', 'Debug', 'raftledger.node'),
  ]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(
    `raftledger: the native addon is not built (looked in ${join(root, 'build')}); run \`npm install\` or \`npx node-gyp rebuild\``,
  );
}

export const native: NativeAddon = createRequire(import.meta.url)(locateAddon()) as NativeAddon;
