/**
 * Durable small files of a log directory: the hard state (`meta`) and the recovery
 * checkpoint (`checkpoint`). Layouts: docs/FORMAT.md. Every save is atomic (temp file,
 * fsync, rename, fsync of the directory, on the addon's flusher thread) and its promise
 * resolves only once durable. Saves are serialized: a later save never lands before an
 * earlier one, and concurrent saves of the same file coalesce to the newest value.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RaftLedgerError, fromSystemError } from '../errors.js';
import { native } from './native.js';
import { dataViewOf, readU64, writeU64 } from './format.js';

/**
 * The content of a log's `meta` file (docs/FORMAT.md): the Raft hard state as stored
 * (term, vote, commit) plus where the retained log starts. Not raft/'s HardState, which
 * is the core's own {term, vote, commit}.
 */
export interface MetaState {
  term: number;
  /** Node id this replica voted for in `term`, or '' for none. */
  votedFor: string;
  commitIndex: number;
  /** First index still retained by the log (1 for a fresh log). */
  firstIndex: number;
  /** Term of the entry just before firstIndex (0 when firstIndex is 1). */
  prevTerm: number;
  /**
   * Set by a log reset (storage/log/reset.ts): the absolute pos of the record of
   * firstIndex. Absent: the first record sits at the start of the first segment.
   */
  firstPos?: number;
  /** A log reset decided this start; its cleanup (old segments, index, checkpoint) may be unfinished. */
  resetPending?: boolean;
}

export interface Checkpoint {
  /** Last index known durable (0 = none). */
  index: number;
  /** Position just past that record: where recovery starts scanning. */
  pos: number;
  term: number;
}

const META_MAGIC = 0x4154454d;
const META_HEADER_BYTES = 48;
/** The meta header's crc field: CRC32C of bytes [0, META_CRC_OFFSET) then votedFor. */
const META_CRC_OFFSET = 44;
const CHECKPOINT_MAGIC = 0x544b4843;
const CHECKPOINT_BYTES = 40;
const MAX_VOTED_FOR_BYTES = 1024;

export const INITIAL_HARD_STATE: Readonly<MetaState> = Object.freeze({
  term: 0,
  votedFor: '',
  commitIndex: 0,
  firstIndex: 1,
  prevTerm: 0,
});

/** Version 2 of the meta file: 16 more header bytes (firstPos u64, flags u32, reserved u32) at 48. */
const META_V2_HEADER_BYTES = 64;
const META_FLAG_RESET_PENDING = 1;

/**
 * Version 1 unless the log was reset (firstPos or resetPending set): version 2 adds firstPos
 * and the flags at 48, and its CRC covers those 16 bytes too (metaCrc).
 */
export function encodeHardState(state: MetaState): Buffer {
  const version = state.firstPos !== undefined || state.resetPending === true ? 2 : 1;
  const headerBytes = version === 2 ? META_V2_HEADER_BYTES : META_HEADER_BYTES;
  const votedFor = Buffer.from(state.votedFor, 'utf8');
  if (votedFor.byteLength > MAX_VOTED_FOR_BYTES) throw new RangeError('votedFor is longer than 1024 bytes');
  const bytes = Buffer.alloc(headerBytes + votedFor.byteLength);
  const view = dataViewOf(bytes);
  view.setUint32(0, META_MAGIC, true);
  view.setUint32(4, version, true);
  writeU64(view, 8, state.term);
  writeU64(view, 16, state.commitIndex);
  writeU64(view, 24, state.firstIndex);
  view.setUint32(32, votedFor.byteLength, true);
  writeU64(view, 36, state.prevTerm);
  if (version === 2) {
    writeU64(view, 48, state.firstPos ?? 0);
    view.setUint32(56, state.resetPending === true ? META_FLAG_RESET_PENDING : 0, true);
  }
  votedFor.copy(bytes, headerBytes);
  view.setUint32(META_CRC_OFFSET, metaCrc(bytes, version, votedFor), true);
  return bytes;
}

/** The CRC32C of a meta file: the header before the CRC field, version 2's extra 16 bytes, then votedFor. */
function metaCrc(bytes: Uint8Array, version: number, votedFor: Uint8Array): number {
  let crc = native.crc32c(bytes.subarray(0, META_CRC_OFFSET));
  if (version === 2) crc = native.crc32c(bytes.subarray(META_HEADER_BYTES, META_V2_HEADER_BYTES), crc);
  return native.crc32c(votedFor, crc);
}

export function decodeHardState(bytes: Uint8Array, path: string): MetaState {
  const corrupt = (why: string): RaftLedgerError =>
    new RaftLedgerError('ERR_LOG_CORRUPT', `${path}: ${why}`, { path, offset: 0 });
  if (bytes.byteLength < META_HEADER_BYTES) throw corrupt(`hard state file is ${bytes.byteLength} bytes, expected at least 48`);
  const view = dataViewOf(bytes);
  if (view.getUint32(0, true) !== META_MAGIC) throw corrupt('bad magic in hard state file');
  const version = view.getUint32(4, true);
  if (version !== 1 && version !== 2) throw corrupt(`unsupported hard state version ${version}`);
  const headerBytes = version === 2 ? META_V2_HEADER_BYTES : META_HEADER_BYTES;
  if (bytes.byteLength < headerBytes) throw corrupt(`hard state file is ${bytes.byteLength} bytes, expected at least 64`);
  const votedForBytes = view.getUint32(32, true);
  if (votedForBytes > MAX_VOTED_FOR_BYTES || headerBytes + votedForBytes !== bytes.byteLength) {
    throw corrupt('hard state length does not match its votedFor field');
  }
  const votedFor = bytes.subarray(headerBytes);
  if (metaCrc(bytes, version, votedFor) !== view.getUint32(META_CRC_OFFSET, true)) throw corrupt('hard state CRC mismatch');
  const state: MetaState = {
    term: readU64(view, 8),
    commitIndex: readU64(view, 16),
    firstIndex: readU64(view, 24),
    prevTerm: readU64(view, 36),
    votedFor: Buffer.from(votedFor).toString('utf8'),
  };
  if (version === 2) {
    const flags = view.getUint32(56, true);
    if ((flags & ~META_FLAG_RESET_PENDING) !== 0 || view.getUint32(60, true) !== 0) throw corrupt(`unknown hard state flags 0x${flags.toString(16)}`);
    state.firstPos = readU64(view, 48);
    if ((flags & META_FLAG_RESET_PENDING) !== 0) state.resetPending = true;
  }
  return state;
}

export function encodeCheckpoint(checkpoint: Checkpoint): Buffer {
  const bytes = Buffer.alloc(CHECKPOINT_BYTES);
  const view = dataViewOf(bytes);
  view.setUint32(0, CHECKPOINT_MAGIC, true);
  view.setUint32(4, 1, true);
  writeU64(view, 8, checkpoint.index);
  writeU64(view, 16, checkpoint.pos);
  writeU64(view, 24, checkpoint.term);
  view.setUint32(36, native.crc32c(bytes.subarray(0, 36)), true);
  return bytes;
}

/** Returns undefined for a damaged checkpoint: recovery then scans from the start. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint | undefined {
  if (bytes.byteLength !== CHECKPOINT_BYTES) return undefined;
  const view = dataViewOf(bytes);
  if (view.getUint32(0, true) !== CHECKPOINT_MAGIC || view.getUint32(4, true) !== 1) return undefined;
  if (native.crc32c(bytes.subarray(0, 36)) !== view.getUint32(36, true)) return undefined;
  return { index: readU64(view, 8), pos: readU64(view, 16), term: readU64(view, 24) };
}

function readOptional(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fromSystemError(error, `cannot read ${path}`, path);
  }
}

/** Serializes atomic replacements of one file; the newest pending value wins. */
class DurableFile {
  readonly #path: string;
  #running: Promise<void> | undefined;
  #pending: { bytes: Uint8Array; waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> } | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  save(bytes: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#pending === undefined) this.#pending = { bytes, waiters: [] };
      this.#pending.bytes = bytes;
      this.#pending.waiters.push({ resolve, reject });
      if (this.#running === undefined) this.#running = this.#drain();
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending !== undefined) {
      const { bytes, waiters } = this.#pending;
      this.#pending = undefined;
      try {
        await native.atomicWriteFile(this.#path, bytes);
        for (const w of waiters) w.resolve();
      } catch (error) {
        const wrapped = fromSystemError(error, `cannot save ${this.#path}`, this.#path);
        for (const w of waiters) w.reject(wrapped);
      }
    }
    this.#running = undefined;
  }

  /** Resolves when no save is in flight. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }
}

/** Advice given whenever a replica's hard state cannot be trusted (docs/FORMAT.md, "What recovery checks"). */
export function hardStateLostAdvice(dir: string): string {
  return (
    `the replica's term and vote cannot be rebuilt from its log, and starting without them could let it vote twice in one term, ` +
    `so it refuses to start (--repair cannot fix this); restore ${join(dir, 'meta')} from a backup of this very directory, or ` +
    `replace the replica: move ${dir} aside and restart the server while the other replicas have a leader: it starts empty and the leader re-sends the log`
  );
}

export class MetaStore {
  readonly #dir: string;
  readonly #hardStateFile: DurableFile;
  readonly #checkpointFile: DurableFile;
  readonly #existed: boolean;
  #hardState: MetaState;
  #durableHardState: MetaState;
  /** The commit index last written to the file (see bindDurableLog). */
  #savedCommitIndex: number;
  #durableLogIndex: (() => number) | undefined;

  private constructor(dir: string, hardState: MetaState, existed: boolean) {
    this.#dir = dir;
    this.#hardStateFile = new DurableFile(join(dir, 'meta'));
    this.#checkpointFile = new DurableFile(join(dir, 'checkpoint'));
    this.#hardState = hardState;
    this.#durableHardState = hardState;
    this.#savedCommitIndex = hardState.commitIndex;
    this.#existed = existed;
  }

  /**
   * Read `dir/meta` (absent: the initial hard state, see `existed`). A damaged file is
   * ERR_HARD_STATE_LOST: the vote it held is gone, and no repair of the log brings it back.
   */
  static open(dir: string): MetaStore {
    const path = join(dir, 'meta');
    const bytes = readOptional(path);
    let state: MetaState;
    try {
      state = bytes === undefined ? { ...INITIAL_HARD_STATE } : decodeHardState(bytes, path);
    } catch (error) {
      throw new RaftLedgerError('ERR_HARD_STATE_LOST', `${(error as Error).message}; ${hardStateLostAdvice(dir)}`, { path, offset: 0, cause: error });
    }
    return new MetaStore(dir, state, bytes !== undefined);
  }

  /** Whether `meta` existed when this store was opened. */
  get existed(): boolean {
    return this.#existed;
  }

  /**
   * Tie the commit index written to disk to the log it describes: every save writes
   * min(commitIndex, durableLogIndex()) (the log's flushed index, whose bytes were synced
   * before the save starts), so the file never claims a commit the log did not hold
   * durably, in 'memory' durability too. Recovery may then treat a log ending below the
   * stored commit index as lost data, never as an ordinary power loss. The in-memory
   * hardState keeps the full value; close() writes the last bound value.
   */
  bindDurableLog(durableLogIndex: () => number): void {
    this.#durableLogIndex = durableLogIndex;
  }

  get dir(): string {
    return this.#dir;
  }

  /** The newest hard state handed to save() (maybe not durable yet). */
  get hardState(): Readonly<MetaState> {
    return this.#hardState;
  }

  /** The newest hard state known durable. */
  get durableHardState(): Readonly<MetaState> {
    return this.#durableHardState;
  }

  /** Persist a change of the hard state; resolves once durable. */
  async save(change: Partial<MetaState>): Promise<void> {
    const next: MetaState = { ...this.#hardState, ...change };
    validateHardState(next);
    this.#hardState = next;
    await this.#hardStateFile.save(encodeHardState(this.#onDisk(next)));
    // Saves are serialized, so a resolved save means this value (or a newer one) is on disk.
    if (this.#durableHardState !== this.#hardState) this.#durableHardState = next;
  }

  readCheckpoint(): Checkpoint | undefined {
    const bytes = readOptional(join(this.#dir, 'checkpoint'));
    return bytes === undefined ? undefined : decodeCheckpoint(bytes);
  }

  saveCheckpoint(checkpoint: Checkpoint): Promise<void> {
    return this.#checkpointFile.save(encodeCheckpoint(checkpoint));
  }

  #onDisk(state: MetaState): MetaState {
    const limit = this.#durableLogIndex?.() ?? Number.POSITIVE_INFINITY;
    const commitIndex = Math.min(state.commitIndex, Math.max(limit, 0));
    this.#savedCommitIndex = commitIndex;
    return commitIndex === state.commitIndex ? state : { ...state, commitIndex };
  }

  async close(): Promise<void> {
    await this.#hardStateFile.idle();
    // A commit index held back by bindDurableLog while its entries were being flushed.
    if (this.#durableLogIndex !== undefined) {
      const want = Math.min(this.#hardState.commitIndex, this.#durableLogIndex());
      if (want > this.#savedCommitIndex) {
        try {
          await this.#hardStateFile.save(encodeHardState(this.#onDisk(this.#hardState)));
        } catch {
          // The older value stays: a lower commit index is always safe.
        }
      }
    }
    await this.#hardStateFile.idle();
    await this.#checkpointFile.idle();
  }
}

function validateHardState(state: MetaState): void {
  for (const key of ['term', 'commitIndex', 'firstIndex', 'prevTerm'] as const) {
    const value = state[key];
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`hard state ${key} must be a non-negative safe integer, got ${value}`);
  }
  if (state.firstIndex < 1) throw new RangeError('hard state firstIndex must be >= 1');
  if (state.firstPos !== undefined && (!Number.isSafeInteger(state.firstPos) || state.firstPos < 0)) {
    throw new RangeError(`hard state firstPos must be a non-negative safe integer, got ${state.firstPos}`);
  }
  if (typeof state.votedFor !== 'string') throw new TypeError('hard state votedFor must be a string');
}
