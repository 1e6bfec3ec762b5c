/**
 * The Ledger's option, status and event types and its argument checks (ledger.ts
 * re-exports the types, so importers keep using '../replica/ledger.js').
 */
import { RaftLedgerError } from '../errors.js';
import type { TlsFiles } from '../transport/tls.js';
import type { Member, Message, Role } from '../raft/index.js';
import type { MembersView } from './membership.js';
import type { DamagedRange, OnFlushed } from '../storage/index.js';
import type { RepairSource } from './repair.js';
import type { RepairStatus } from './self-repair.js';
import type { AppSnapshotHooks } from './app-snapshot.js';
import type { PeersInput } from './peers.js';
import type { LedgerStatsSnapshot, TransportSnapshot } from './ledger-stats.js';
import type { RetentionPolicy } from './retention.js';

export type Durability = 'fsync' | 'memory';

/** Where the core's messages go; the Ledger receives with `receive()`. */
export interface RaftLink {
  send(message: Message): void;
  /** The link's transport counters, for status() (a GroupSet's link has them). */
  transportStats?(): TransportSnapshot;
  /**
   * The members this replica must reach changed (membership.ts): add links to new ones,
   * drop links to the others. Returns client addresses (by id) it knows for them, if any.
   */
  setMembers?(members: readonly Member[]): Record<string, string> | undefined;
  /** One repair source per peer (a GroupSet's link has them; repair-link.ts). Absent: damage cannot be repaired from peers. */
  repairSources?(): RepairSource[];
}

export interface LedgerCoreOptions {
  dir: string;
  id: string;
  /** Ids of every voting member of the bootstrap configuration, including `id` unless it is in `learners`. */
  members: readonly string[];
  /** Bootstrap learners (a replica joining an existing group lists itself). A configuration stored beside the log wins over both. */
  learners?: readonly string[];
  /** Each bootstrap member's addresses, 'host:raftPort/clientPort' (stored in Config entries, so new members can reach them). */
  memberAddresses?: Readonly<Record<string, string>>;
  /** Leader: the most entries a learner may be behind and still be promoted (default 1000). */
  maxPromoteLagEntries?: number;
  /** The member leadership moves back to when healthy and caught up (preferred-leader.ts): one id, or one per group. */
  preferredLeader?: string | Readonly<Record<number, string>>;
  /** Where each member's clients connect (for ERR_NOT_LEADER hints). */
  clientAddresses?: Readonly<Record<string, string>>;
  link: RaftLink;
  group?: number;
  /** The cluster stored in (and checked against) the log directory's owner with id and group (default DEFAULT_CLUSTER_ID). */
  clusterId?: string;
  /** The node's cluster uid (cluster-id.ts), as members() reports it; the transport's owner resolved it. */
  clusterUid?: string;
  durability?: Durability;
  tickMs?: number;
  /** Default REPLICA_HEARTBEAT_TICKS, or electionTicks / 4 when only that is given (see replicaTiming). */
  heartbeatTicks?: number;
  /** Default REPLICA_ELECTION_TICKS, or 4 x heartbeatTicks when only that is given (see replicaTiming). */
  electionTicks?: number;
  segmentSizeBytes?: number;
  maxEntrySizeBytes?: number;
  /** Entries waiting for a verdict beyond which append() rejects with ERR_OVERLOADED (default 100000). */
  maxPendingAppends?: number;
  /** How long append() waits for a verdict before ERR_TIMEOUT (default 10000 ms). */
  appendTimeoutMs?: number;
  /** Producers the exactly-once table remembers, least recently used evicted first (default 10000; README.md "Exactly-once appends"). */
  maxProducers?: number;
  /** Entries at the end of the log a new leader reads to rebuild its producer table (default 100000). */
  producerWindowEntries?: number;
  /** Background flush period in 'memory' mode (default DEFAULT_MEMORY_FLUSH_INTERVAL_MS). */
  memoryFlushIntervalMs?: number;
  /** Minimum time between saves of a commit-only hard-state change (default 200 ms). */
  commitSaveIntervalMs?: number;
  /** Max bytes per AppendEntries (default 1 MiB) and entries per message (default 512). */
  maxBytesPerMessage?: number;
  maxEntriesPerMessage?: number;
  maxInflightMessages?: number;
  /** Bytes of application snapshot per logStart message, one in flight per follower (default 1 MiB). */
  snapshotChunkBytes?: number;
  seed?: number;
  /** Diagnostic lines (recovery notes, dropped frames, catch-up needs). */
  onLog?: (line: string) => void;
  /** TEST-ONLY: passed to SegmentedLog.open (see SegmentedLogOptions.onFlushed). */
  onFlushed?: OnFlushed;
  /** An application snapshot sent with log starts (docs/RAFT.md, "Log start"; src/replica/app-snapshot.ts). */
  snapshot?: AppSnapshotHooks;
  /** TEST/DIAGNOSTIC: without `snapshot`, a synthetic application snapshot of this many bytes (app-snapshot.ts syntheticSnapshotOf). */
  appSnapshotBytes?: number;
  /** Retention of old segments (retention.ts); default: keep everything. */
  retention?: RetentionPolicy;
  /** Free bytes on the log's filesystem below which writes are refused (default 2 x segment size + 64 MiB; 0: never). */
  minFreeBytes?: number;
  /** How often free space is measured besides after each segment roll (default 1000 ms). */
  spaceCheckIntervalMs?: number;
  /** TEST-ONLY: measures free bytes instead of statfs on the log's filesystem. */
  measureFreeBytes?: () => number;
  /** Background scrub rate over committed records, repairing what it finds from peers (scrub.ts; default 4 MiB/s, DEFAULT_SCRUB_BYTES_PER_SEC; 0: off). */
  scrubBytesPerSec?: number;
  /** Damaged ranges the startup check found (storage/startup-check.ts): repaired from peers before startupRepaired resolves. */
  startupDamage?: readonly DamagedRange[];
  /** How long the start-up repair keeps trying unreachable peers before it gives up (default 30000 ms). */
  repairTimeoutMs?: number;
}

/**
 * Ledger.open with its own TCP transport: `peers` names every member (this one included)
 * with its Raft address ('host:port'), and optionally its client address for
 * ERR_NOT_LEADER hints ('host:port/clientPort' or { raft, client }); the same forms as
 * LedgerHost.open and the server's --peers (src/replica/peers.ts normalizePeers). The Ledger listens on its own Raft address and closes the
 * transport when it closes.
 */
export type LedgerOptions = Omit<LedgerCoreOptions, 'members' | 'link' | 'clientAddresses'> & {
  peers: PeersInput;
  /** Peers of another cluster id are refused at the handshake (default DEFAULT_CLUSTER_ID, 'raftledger'). */
  clusterId?: string;
  /**
   * The uid of the cluster this replica joins (cluster-id.ts): a directory without a stored
   * uid adopts it, one that stores another is refused (ERR_CLUSTER_MISMATCH). Absent: the
   * stored uid, else one derived from `clusterId` and the voters of `peers` (bootstrap).
   */
  clusterUid?: string;
  /** Mutual TLS with the peers: cert/key/ca as file paths (strings) or PEM bytes (transport/tls.ts). */
  tls?: TlsFiles;
};

export interface FollowerStatus {
  match: number;
  next: number;
  state: string;
  lag: number;
  /** Bytes of log between the follower's match and the leader's write position (absent when match is below the first index). */
  lagBytes?: number;
  active: boolean;
  /** Being caught up beyond this log's first index: 'reset' (a log start is being sent) or 'stranded' (no log start possible). */
  catchUp?: 'reset' | 'stranded';
  /** reset state: the log start being sent and the snapshot bytes the follower holds. */
  reset?: { index: number; snapshotOffset: number; snapshotSize: number };
}

export interface LedgerStatus {
  id: string;
  group: number;
  role: Role;
  term: number;
  leader: string;
  leaderAddress?: string;
  firstIndex: number;
  /** pos of the first retained entry (the write position when the log holds none). */
  firstPos: number;
  lastIndex: number;
  commitIndex: number;
  durableIndex: number;
  durability: Durability;
  pendingAppends: number;
  /** Bytes the segment files take on disk (full-size files, the preallocated spare included). */
  diskBytes: number;
  /** Bytes from the first segment's start to the write position. */
  logBytes: number;
  /** Free bytes on the log's filesystem at the last check, and whether writes are refused for it. */
  freeBytes: number;
  noSpace: boolean;
  /** Only on the leader. */
  followers: Record<string, FollowerStatus>;
  /** Counters and latency histograms for metrics (ledger-stats.ts). */
  stats: LedgerStatsSnapshot;
  /** The transport this group sends through (shared by the groups of its GroupSet). */
  transport?: TransportSnapshot;
  /** The configuration in force: voters and learners (with lag and activity on the leader). */
  members?: MembersView;
  /** Damage found and repaired, bytes fetched, the scrub's progress (self-repair.ts). */
  repair?: RepairStatus;
}

export interface LedgerEvents {
  role: [role: Role, term: number];
  leader: [leader: string, term: number];
  commit: [commitIndex: number];
  error: [error: Error];
}

/** An option that must be a number >= min (default 1); `fallback` when absent. */
export function positive(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw new RangeError(`${name} must be a number >= ${min}, got ${String(value)}`);
  return value;
}

/** An API argument that must be a positive safe integer: TypeError if not a number, RangeError if out of range. */
export function checkPositiveInteger(method: string, name: string, value: unknown): void {
  if (typeof value !== 'number') throw new TypeError(`${method}: ${name} must be a positive integer, got ${typeof value} ${JSON.stringify(value) ?? String(value)}`);
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${method}: ${name} must be a positive integer, got ${String(value)}`);
}

/** append()'s payloads: TypeError unless a non-empty array of Uint8Array, ERR_ENTRY_TOO_LARGE past the limit; returns their total bytes. */
export function checkPayloads(payloads: readonly Uint8Array[], maxEntrySizeBytes: number): number {
  if (!Array.isArray(payloads) || payloads.length === 0) throw new TypeError('append: expected a Uint8Array or a non-empty array of them');
  let bytes = 0;
  for (const p of payloads) {
    if (!(p instanceof Uint8Array)) throw new TypeError('append: every payload must be a Uint8Array');
    bytes += p.byteLength;
    if (p.byteLength > maxEntrySizeBytes) {
      throw new RaftLedgerError('ERR_ENTRY_TOO_LARGE', `payload of ${p.byteLength} bytes exceeds maxEntrySizeBytes ${maxEntrySizeBytes}`);
    }
  }
  return bytes;
}

/**
 * 'memory' mode's background flush period: DLedger's flush interval. An acknowledged entry
 * can be lost only if a quorum loses power within about this long of writing it. Against 5 ms,
 * 10 ms saves 4-13% of the CPU per append at C = 128 (README "Tuning: memory mode's background
 * flush").
 */
export const DEFAULT_MEMORY_FLUSH_INTERVAL_MS = 10;

/**
 * The per-group tuning a Ledger takes that LedgerHost, its shards and the server pass
 * through unchanged: one list, so a new option is added in one place.
 */
export type GroupTuning = Pick<
  LedgerCoreOptions,
  | 'segmentSizeBytes'
  | 'retention'
  | 'minFreeBytes'
  | 'tickMs'
  | 'heartbeatTicks'
  | 'electionTicks'
  | 'maxProducers'
  | 'producerWindowEntries'
  | 'appSnapshotBytes'
  | 'snapshotChunkBytes'
  | 'preferredLeader'
  | 'scrubBytesPerSec'
  | 'repairTimeoutMs'
  | 'memoryFlushIntervalMs'
>;

/** The GroupTuning fields `from` sets (absent ones stay absent; the retention policy is copied). */
export function groupTuningOf(from: GroupTuning): GroupTuning {
  const out: GroupTuning = {};
  if (from.segmentSizeBytes !== undefined) out.segmentSizeBytes = from.segmentSizeBytes;
  if (from.retention !== undefined) out.retention = { ...from.retention };
  if (from.minFreeBytes !== undefined) out.minFreeBytes = from.minFreeBytes;
  if (from.tickMs !== undefined) out.tickMs = from.tickMs;
  if (from.heartbeatTicks !== undefined) out.heartbeatTicks = from.heartbeatTicks;
  if (from.electionTicks !== undefined) out.electionTicks = from.electionTicks;
  if (from.maxProducers !== undefined) out.maxProducers = from.maxProducers;
  if (from.producerWindowEntries !== undefined) out.producerWindowEntries = from.producerWindowEntries;
  if (from.appSnapshotBytes !== undefined) out.appSnapshotBytes = from.appSnapshotBytes;
  if (from.snapshotChunkBytes !== undefined) out.snapshotChunkBytes = from.snapshotChunkBytes;
  if (from.preferredLeader !== undefined) out.preferredLeader = typeof from.preferredLeader === 'string' ? from.preferredLeader : { ...from.preferredLeader };
  if (from.scrubBytesPerSec !== undefined) out.scrubBytesPerSec = from.scrubBytesPerSec;
  if (from.repairTimeoutMs !== undefined) out.repairTimeoutMs = from.repairTimeoutMs;
  if (from.memoryFlushIntervalMs !== undefined) out.memoryFlushIntervalMs = from.memoryFlushIntervalMs;
  return out;
}

/**
 * A replica's Raft timing when the caller does not pick it: heartbeats every 5 ticks (50 ms)
 * and an election timeout random in [20, 40) ticks (200-400 ms). Chosen by measurement
 * (bench/cluster/failover-tuning.mjs, README "Benchmarks"): with these, failover (SIGKILL of
 * the leader to the next acknowledged append) is about 350 ms median and no spurious election
 * happened in 60 s of full load on a loaded 2-core machine, where the core's own defaults
 * (10/50) give about 900 ms. The pure core keeps 10/50 (src/raft/config.ts) so its golden
 * traces and simulator schedules do not depend on this choice.
 */
export const REPLICA_HEARTBEAT_TICKS = 5;
export const REPLICA_ELECTION_TICKS = 20;

/** The heartbeat and election ticks for a replica: the defaults as a pair, or derived from the one given. */
export function replicaTiming(options: { heartbeatTicks?: number; electionTicks?: number }): { heartbeatTicks: number; electionTicks: number } {
  const { heartbeatTicks, electionTicks } = options;
  if (heartbeatTicks !== undefined && electionTicks !== undefined) return { heartbeatTicks, electionTicks };
  if (heartbeatTicks !== undefined) return { heartbeatTicks, electionTicks: Math.max(REPLICA_ELECTION_TICKS, 4 * heartbeatTicks) };
  if (electionTicks !== undefined) return { heartbeatTicks: Math.max(1, Math.min(REPLICA_HEARTBEAT_TICKS, Math.floor(electionTicks / 4))), electionTicks };
  return { heartbeatTicks: REPLICA_HEARTBEAT_TICKS, electionTicks: REPLICA_ELECTION_TICKS };
}
