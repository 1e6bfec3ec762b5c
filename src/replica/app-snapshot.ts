/**
 * The application snapshot an embedding broker may hand the Ledger (LedgerCoreOptions.snapshot):
 * an opaque blob sent with a log start to a follower reset beyond the leader's first index
 * (docs/RAFT.md, "Log start"), and installed on that follower after its log reset.
 *
 * The core asks for the blob synchronously when a reset begins; provide() may be async, so
 * the leader serves the newest blob it has and refreshes it after each use (and at open).
 * The version changes whenever the bytes change, so a follower resumes only the same blob.
 */
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppSnapshot, LogStartPoint } from '../raft/index.js';

export interface AppSnapshotHooks {
  /** Leader: the current application snapshot (opaque bytes). */
  provide(): Promise<Uint8Array> | Uint8Array;
  /**
   * Follower: the log is about to start after `at`; install the blob (called before the log
   * reset, which is acknowledged only after both). Must be idempotent: a crash between the
   * install and the reset makes the follower receive and install a log start again.
   */
  install(blob: Buffer, at: LogStartPoint): Promise<void> | void;
}

export class AppSnapshotCache {
  readonly #hooks: AppSnapshotHooks;
  readonly #onError: (error: unknown) => void;
  #current: AppSnapshot | null = null;
  #version = 0;
  #refreshing = false;

  constructor(hooks: AppSnapshotHooks, onError: (error: unknown) => void) {
    if (typeof hooks.provide !== 'function' || typeof hooks.install !== 'function') {
      throw new TypeError('snapshot: expected { provide(), install(blob, at) }');
    }
    this.#hooks = hooks;
    this.#onError = onError;
  }

  /** For RaftConfig.appSnapshot: the newest blob (null before the first provide() resolved); starts a refresh. */
  current(): AppSnapshot | null {
    this.refresh();
    return this.#current;
  }

  refresh(): void {
    if (this.#refreshing) return;
    this.#refreshing = true;
    Promise.resolve()
      .then(() => this.#hooks.provide())
      .then(
        (blob) => {
          this.#refreshing = false;
          if (!(blob instanceof Uint8Array)) throw new TypeError('snapshot.provide() must return a Uint8Array');
          const cur = this.#current;
          if (cur !== null && Buffer.from(cur.data).equals(Buffer.from(blob))) return;
          this.#current = { version: ++this.#version + Date.now() * 1024, data: blob };
        },
        (error: unknown) => {
          this.#refreshing = false;
          throw error;
        },
      )
      .catch(this.#onError);
  }

  install(blob: Uint8Array, at: LogStartPoint): Promise<void> {
    return Promise.resolve(this.#hooks.install(Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength), at));
  }
}

/** The file the synthetic snapshot is installed to, in the group's log directory. */
export const SYNTHETIC_SNAPSHOT_FILE = 'app-snapshot.bin';

/**
 * TEST/DIAGNOSTIC (LedgerCoreOptions.appSnapshotBytes, `raftledger server
 * --app-snapshot-bytes N`): an application snapshot of N bytes for processes that have no
 * embedding application, so multi-process tests can make a leader stream a large,
 * multi-chunk snapshot. provide() returns the same N pseudo-random bytes on every replica
 * (syntheticSnapshotBytes); install() writes the blob to `<dir>/app-snapshot.bin`
 * atomically (temp file, fsync, rename), so the file is either absent, the old blob or the
 * whole new one. Undefined when the option is absent or 0.
 */
export function syntheticSnapshotOf(options: { dir: string; appSnapshotBytes?: number | undefined }): AppSnapshotHooks | undefined {
  const n = options.appSnapshotBytes;
  if (n === undefined || n === 0) return undefined;
  if (!Number.isSafeInteger(n) || n < 0 || n > 2 ** 30) throw new RangeError(`appSnapshotBytes must be an integer 0..2^30, got ${String(n)}`);
  let blob: Uint8Array | undefined;
  const path = join(options.dir, SYNTHETIC_SNAPSHOT_FILE);
  return {
    provide: () => (blob ??= syntheticSnapshotBytes(n)),
    install: async (data) => {
      const tmp = `${path}.tmp`;
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    },
  };
}

/** The synthetic snapshot's bytes: a fixed xorshift32 stream (the same on every replica and run). */
export function syntheticSnapshotBytes(sizeBytes: number): Uint8Array {
  const out = new Uint8Array(sizeBytes);
  const words = new Uint32Array(out.buffer, 0, sizeBytes >>> 2);
  let x = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < sizeBytes; i++) out[i] = i & 0xff;
  return out;
}
