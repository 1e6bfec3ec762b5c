/** What Ledger.open derives from its options before a replica exists (checks, the core's and the log's configuration). */
import type { RaftConfig } from '../raft/index.js';
import type { LogStorage } from '../raft/index.js';
import type { SegmentedLogOptions } from '../storage/index.js';
import type { AppSnapshotCache } from './app-snapshot.js';
import { DEFAULT_CLUSTER_ID, GroupSet, type GroupMember } from './group-set.js';
import { replicaTiming, type LedgerCoreOptions, type LedgerOptions } from './ledger-types.js';
import { formatMemberAddress, normalizePeers } from './peers.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { IDENTITY_FILE } from '../storage/identity.js';
import { resolveClusterUid } from './cluster-id.js';

/** Ledger.open({ peers }): every member's Raft address split from its client address, this replica's checked. */
export function splitPeers(options: LedgerOptions): { raft: Record<string, string>; clientAddresses: Record<string, string>; others: Record<string, string>; memberAddresses: Record<string, string> } {
  const raft: Record<string, string> = {};
  const clientAddresses: Record<string, string> = {};
  const memberAddresses: Record<string, string> = {};
  for (const [id, spec] of Object.entries(normalizePeers(options.peers, { clientOptional: true }))) {
    raft[id] = spec.raft;
    if (spec.client !== undefined) clientAddresses[id] = spec.client;
    memberAddresses[id] = spec.client !== undefined ? formatMemberAddress({ raft: spec.raft, client: spec.client }) : spec.raft;
  }
  if (typeof options.id !== 'string' || raft[options.id] === undefined) {
    throw new RangeError(`Ledger.open: peers must include this replica's id ${JSON.stringify(options.id)}`);
  }
  const others: Record<string, string> = {};
  for (const [id, address] of Object.entries(raft)) if (id !== options.id) others[id] = address;
  return { raft, clientAddresses, others, memberAddresses };
}

/** Ledger.open({ members, link }): TypeError/RangeError for options that cannot make a replica. */
export function checkLinkOptions(options: LedgerCoreOptions): void {
  if (typeof options.id !== 'string' || options.id === '') throw new TypeError('Ledger.open: id must be a non-empty string');
  if (options.learners !== undefined && !Array.isArray(options.learners)) throw new TypeError('Ledger.open: learners must be an array of ids');
  if (!Array.isArray(options.members) || !(options.members.includes(options.id) || options.learners?.includes(options.id) === true)) {
    throw new RangeError(`Ledger.open: members (or learners) must be an array that includes the id ${JSON.stringify(options.id)}`);
  }
  if (options.durability !== undefined && options.durability !== 'fsync' && options.durability !== 'memory') {
    throw new RangeError(`durability must be 'fsync' or 'memory', got ${JSON.stringify(options.durability)}`);
  }
  if (options.link === null || typeof options.link?.send !== 'function') throw new TypeError('Ledger.open: link.send must be a function');
}

/** The replica's SegmentedLog options (its owner: node id, cluster id and group). */
export function logOptions(options: LedgerCoreOptions): SegmentedLogOptions {
  return {
    dir: options.dir,
    ...(options.segmentSizeBytes !== undefined ? { segmentSizeBytes: options.segmentSizeBytes } : {}),
    ...(options.maxEntrySizeBytes !== undefined ? { maxEntrySizeBytes: options.maxEntrySizeBytes } : {}),
    onNotice: (m) => options.onLog?.(`[${options.id}] storage: ${m}`),
    owner: { nodeId: options.id, clusterId: options.clusterId ?? DEFAULT_CLUSTER_ID, group: options.group ?? 0 },
    ...(options.onFlushed !== undefined ? { onFlushed: options.onFlushed } : {}),
  };
}


/** The core's configuration; its log epoch is the time of this call. */
export function coreConfig(options: LedgerCoreOptions, storage: LogStorage, snapshot: AppSnapshotCache | undefined, membership: Partial<RaftConfig>): RaftConfig {
  return {
    ...membership,
    ...(options.maxPromoteLagEntries !== undefined ? { maxPromoteLagEntries: options.maxPromoteLagEntries } : {}),
    ...(snapshot !== undefined ? { appSnapshot: () => snapshot.current() } : {}),
    id: options.id,
    peers: options.members,
    storage,
    // A new log epoch at every open (docs/RAFT.md, "Log epochs"): after a restart that may
    // have lost acknowledged entries (memory mode, --repair, a wiped directory) the leader
    // re-checks what it believed about this replica's log instead of trusting old acks.
    logEpoch: Date.now(),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...replicaTiming(options),
    ...(options.maxBytesPerMessage !== undefined ? { maxBytesPerMessage: options.maxBytesPerMessage } : {}),
    ...(options.maxEntriesPerMessage !== undefined ? { maxEntriesPerMessage: options.maxEntriesPerMessage } : {}),
    ...(options.maxInflightMessages !== undefined ? { maxInflightMessages: options.maxInflightMessages } : {}),
    ...(options.snapshotChunkBytes !== undefined ? { snapshotChunkBytes: options.snapshotChunkBytes } : {}),
  };
}

/**
 * Open a Ledger that owns its transport (`Ledger.open` with `peers`): a group set of one,
 * the same transport wiring as a server's groups. `openWithLink` opens the Ledger on the
 * set's link; `own` hands the set to it (closed by its close()).
 */
export async function openWithPeers<L extends GroupMember & { close(): Promise<void> }>(
  options: LedgerOptions,
  openWithLink: (options: LedgerCoreOptions) => Promise<L>,
  own: (ledger: L, set: GroupSet<L>) => void,
): Promise<L> {
  const { raft, clientAddresses, others, memberAddresses } = splitPeers(options);
  const group = options.group ?? 0;
  const voters = Object.keys(raft).filter((id) => options.learners?.includes(id) !== true);
  const { uid: clusterUid, store: storeUid } = resolveClusterUid({
    dir: options.dir,
    name: options.clusterId ?? DEFAULT_CLUSTER_ID,
    voters,
    joining: options.clusterUid,
    existing: existsSync(join(options.dir, IDENTITY_FILE)),
    log: (line) => options.onLog?.(`[${options.id}] ${line}`),
  });
  const set = new GroupSet<L>({
    id: options.id,
    listen: raft[options.id]!,
    peers: others,
    clusterId: options.clusterId,
    clusterUid,
    segmentSizeBytes: options.segmentSizeBytes,
    log: (line) => options.onLog?.(line),
    logPrefix: `[${options.id}] transport: `,
    ...(options.tls !== undefined ? { tls: options.tls } : {}),
  });
  const { peers: _peers, tls: _tls, ...rest } = options;
  void _peers;
  void _tls;
  let ledger: L;
  try {
    ledger = await openWithLink({ memberAddresses, ...rest, clusterUid, members: Object.keys(raft).filter((id) => options.learners?.includes(id) !== true), clientAddresses, link: set.link(group) });
  } catch (error) {
    await set.close();
    throw error;
  }
  try {
    storeUid?.(); // beside the log, now that it exists; before any peer is dialed
  } catch (error) {
    await ledger.close();
    await set.close();
    throw error;
  }
  set.attach(group, ledger);
  own(ledger, set);
  try {
    await set.start();
    await (ledger as { startupRepaired?: Promise<void> }).startupRepaired; // damaged records repaired from peers first (self-repair.ts)
  } catch (error) {
    await ledger.close();
    throw error;
  }
  return ledger;
}

/**
 * Ledger.reloadTls: the TLS files of a Ledger opened with `peers` and `tls` read again. The
 * new material is loaded and checked before anything is swapped: on ERR_TLS the listener
 * and new outbound connections keep the old; open connections keep theirs either way.
 * TypeError for a Ledger without its own transport (opened with a link) or without TLS.
 */
export function reloadOwnedTls(set: GroupSet | undefined): void {
  if (set === undefined) throw new TypeError('reloadTls: this Ledger has no transport of its own (opened with a link: reload through its owner)');
  set.reloadTls();
}
