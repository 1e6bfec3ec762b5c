/** LedgerHost's option, status and event types, and the argument checks its methods share. */
import type { TlsFiles } from '../transport/tls.js';
import type { Durability } from '../replica/ledger.js';
import type { GroupTuning } from '../replica/ledger-types.js';
import type { LedgerEntry } from '../entry.js';
import type { ProducerOptions } from '../replica/idempotence.js';
import type { PeerAddresses, PeersInput } from '../replica/peers.js';
import type { GroupStatus, TransferredEntry } from './protocol.js';

/** `Peers`: the peers' type; LedgerHost.open takes any PeersInput form (LedgerHostOptions<PeersInput>). */
/** Every group's Ledger tuning (GroupTuning: segment size, retention, free-space floor, timings) plus the host's own options. */
export interface LedgerHostOptions<Peers extends PeersInput = Record<string, PeerAddresses>> extends GroupTuning {
  dir: string;
  id: string;
  /**
   * Every node (including this one): its base Raft address and its client address, in any
   * form normalizePeers takes ('host:port[/clientPort]', { raft, client }, or an
   * 'id=host:port,...' spec; the client port defaults to the Raft port + 100).
   */
  peers: Peers;
  /** Members of `peers` that join every group as learners (a node joining a cluster lists itself); a stored configuration wins. */
  learners?: readonly string[];
  /** Worker threads (0: every group on the calling thread). */
  workers: number;
  /** Group count (ids 0..n-1) or the list of group ids. */
  groups: number | readonly number[];
  durability?: Durability;
  clusterId?: string;
  /**
   * The uid of the cluster this node joins (replica/cluster-id.ts; `server --join`): a node
   * directory without a stored uid adopts it, one storing another is refused
   * (ERR_CLUSTER_MISMATCH). Absent: the stored uid, else derived from clusterId and the
   * voters of `peers`.
   */
  clusterUid?: string;
  /**
   * Check every group's log before opening it (default 'none'): 'verify' refuses a damaged
   * log (ERR_LOG_CORRUPT naming file and offset), 'repair' cuts it at the damage (the leader
   * sends the rest). Runs on the worker threads, in parallel, when workers > 0.
   */
  startupCheck?: 'none' | 'verify' | 'repair';
  log?: (line: string) => void;
  /** Mutual TLS with the peers: cert/key/ca as file paths (strings) or PEM bytes (transport/tls.ts). */
  tls?: TlsFiles;
}

/** LedgerHost.append's options. */
export interface HostAppendOptions {
  copy?: boolean;
  producer?: ProducerOptions;
}

export interface WorkerInfo {
  index: number;
  state: 'starting' | 'ready' | 'restarting' | 'closed';
  threadId: number;
  groups: number[];
  restarts: number;
}

export interface HostStatus {
  /** The thread the host (router) runs on. */
  threadId: number;
  workers: WorkerInfo[];
  groups: GroupStatus[];
}

export interface WorkerExitInfo {
  worker: number;
  groups: number[];
  error: Error;
}

export interface LedgerHostEvents {
  workerExit: [info: WorkerExitInfo];
  workerRestart: [info: { worker: number; groups: number[]; threadId: number }];
}

export function checkGroup(group: unknown, what: string): number {
  if (typeof group !== 'number' || !Number.isSafeInteger(group) || group < 0 || group > 0xffff_ffff) {
    throw new RangeError(`${what}: group must be an integer in [0, 2^32-1], got ${String(group)}`);
  }
  return group;
}

export function toEntry(e: TransferredEntry): LedgerEntry {
  const p = e.payload;
  return { index: e.index, term: e.term, pos: e.pos, type: e.type, payload: Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength) };
}

