/**
 * LedgerHost internals for the server (src/server) and the tests. Neither host/index.ts nor
 * the package entry exports this module, and the symbols are not registered (no
 * Symbol.for), so the library's users cannot reach what they key.
 */

import type { OnFlushed } from '../storage/index.js';
import type { ReloadMaterial } from '../transport/tls.js';

/** `host[crashWorker](w, how)`: make worker w die like a bug would (process.exit(1) inside it, or an uncaught throw). Tests only. */
export const crashWorker: unique symbol = Symbol('raftledger.crashWorker');

/** What the server sets up on a LedgerHost beyond LedgerHostOptions (the second argument of LedgerHost.open). */
export interface HostInternals {
  /**
   * The piscina task file each worker runs (a URL or absolute path). Its default export runs
   * runShardWorker (host/worker.ts) with the owner's hooks, and it re-exports checkGroupLog.
   * Default: host/worker.js, whose workers serve only the host's calls.
   */
  workerModule?: string;
  /**
   * Worker w's groups are served to network clients on the node's client port + 1 + w
   * (placement.ts): the shard config carries those addresses, Raft leader hints name them,
   * and the port plan reserves W + 1 client ports. The worker module attaches the listeners
   * (src/server/worker.ts); the owner of the main client port answers data requests with
   * ERR_MOVED. Needs workers > 0 and a workerModule. Default false.
   */
  workerClientPorts?: boolean;
  /**
   * Plain-data options the worker module's client listeners take (the server's client-port
   * limits, TLS files and client auth); structured-cloneable, opaque to the host.
   */
  clientListenerOptions?: Readonly<Record<string, unknown>>;
  /**
   * The TLS PEM (and the client token, for the worker module's listeners) in force at open,
   * read once by the owner; without it the host reads options.tls itself. Every thread
   * starts from these bytes, and restarted workers from the last committed reload's.
   */
  material?: ReloadMaterial;
  /**
   * TEST-ONLY: every group's SegmentedLog reports each successful flush here (the torture
   * harness's fsync journal, `raftledger server --fsync-journal`). A function cannot cross
   * to a worker thread, so this needs workers: 0.
   */
  onFlushed?: OnFlushed;
}
