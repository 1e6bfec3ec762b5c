/**
 * The application snapshot an embedding broker may hand the Ledger (LedgerCoreOptions.snapshot):
 * an opaque blob sent with a log start to a follower reset beyond the leader's first index
 * (docs/RAFT.md, "Log start"), and installed on that follower after its log reset.
 *
 * The core asks for the blob synchronously when a reset begins; provide() may be async, so
 * the leader serves the newest blob it has and refreshes it after each use (and at open).
 * The version changes whenever the bytes change, so a follower resumes only the same blob.
 */
import type { AppSnapshot, LogStartPoint } from '../raft/index.js';

export interface AppSnapshotHooks {
  /** Leader: the current application snapshot (opaque bytes). */
  provide(): Promise<Uint8Array> | Uint8Array;
  /** Follower: the log now starts after `at`; install the blob before the reset is acknowledged. */
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
