/**
 * GroupSet: the Raft groups of one node (or of one worker of a node) that share one
 * PeerTransport; frames carry the group id. This is the one place that builds a
 * PeerTransport: `Ledger.open({ peers })` is a group set of one, and each GroupShard (a
 * LedgerHost worker, or the calling thread with workers: 0) is a group set of its groups.
 *
 * The set routes messages; it does not own the members. Whoever opened a member closes it
 * (and detaches it) before closing the set. Messages for a group with no member attached
 * (not open yet, or closed) are dropped: Raft retries.
 */
import { join } from 'node:path';
import type { Member, Message } from '../raft/index.js';
import { DEFAULT_SEGMENT_SIZE_BYTES } from '../storage/index.js';
import { parseHostPort } from '../transport/address.js';
import { PeerTransport } from '../transport/peer-transport.js';
import type { PemBytes, TlsFiles } from '../transport/tls.js';
import type { TransportSnapshot } from './ledger-stats.js';
import { memberAddresses, type PeerAddresses } from './peers.js';
import { RepairLink } from './repair-link.js';
import type { RepairRecord, RepairRequest, RepairSource } from './repair.js';

/** The handshake's cluster id when none is configured (server config, Ledger.open, LedgerHost). */
export const DEFAULT_CLUSTER_ID = 'raftledger';

/** Where group `group` of a node with data directory `dir` keeps its log. */
export function groupDir(dir: string, group: number): string {
  return join(dir, `group-${group}`);
}

export interface GroupSetConfig {
  id: string;
  /** This node's Raft listen address ('host:port'). */
  listen: string;
  /** Every other member's Raft address. */
  peers: Readonly<Record<string, string>>;
  /** Peers of another cluster id are refused at the handshake (default DEFAULT_CLUSTER_ID). */
  clusterId?: string;
  /** Peers of another cluster uid are refused at the handshake (cluster-id.ts; default NO_CLUSTER_UID). */
  clusterUid?: string;
  /** Peers whose segment size differs are refused (default DEFAULT_SEGMENT_SIZE_BYTES). */
  segmentSizeBytes?: number;
  /** Transport diagnostics, already labelled with this node and the set's label. */
  log?: (line: string) => void;
  /** Prefix of the transport's log lines (default PeerTransport's own). */
  logPrefix?: string;
  /** Mutual TLS between peers (transport/tls.ts); absent: plaintext. */
  tls?: TlsFiles;
  /**
   * The Raft address this set dials and the client address it hints for a member, from the
   * address a Config entry stores (default: memberAddresses; a LedgerHost worker adds its offsets).
   */
  addressOf?: (memberAddress: string) => PeerAddresses | undefined;
}

/** A member of the set: the Ledger of one group. */
export interface GroupMember {
  receive(message: Message): void;
  /** Answer a peer's repair request from this replica's log (repair.ts serveRepair); absent: empty answers. */
  serveRepair?(request: RepairRequest): RepairRecord[];
}

/** What a member sends through: Raft messages, and repair requests to its peers (repair-link.ts). */
export interface GroupLink {
  send(message: Message): void;
  transportStats(): TransportSnapshot;
  setMembers(members: readonly Member[]): Record<string, string>;
  /** One repair source per peer linked now, in the transport's order. */
  repairSources(): RepairSource[];
}

export class GroupSet<M extends GroupMember = GroupMember> {
  readonly #members = new Map<number, M>();
  readonly #transport: PeerTransport;
  readonly #addressOf: (memberAddress: string) => PeerAddresses | undefined;
  /** Per group: the peers its configurations name (id -> Raft address, '' unknown); the transport's peers are their union. */
  readonly #reports = new Map<number, Map<string, string>>();
  /** Every peer some group's configuration has named (see #applyPeers). */
  readonly #named = new Set<string>();
  readonly #repair: RepairLink;

  constructor(config: GroupSetConfig) {
    this.#addressOf = config.addressOf ?? memberAddresses;
    for (const id of Object.keys(config.peers)) this.#named.add(id);
    this.#repair = new RepairLink({
      send: (peer, group, message) => this.#transport.sendRepair(peer, group, message),
      server: (group) => {
        const m = this.#members.get(group);
        return m?.serveRepair === undefined ? undefined : { serveRepair: (r) => m.serveRepair!(r) };
      },
      log: (line) => config.log?.(`${config.logPrefix ?? ''}${line}`),
    });
    this.#transport = new PeerTransport({
      id: config.id,
      listen: parseHostPort(config.listen),
      peers: { ...config.peers },
      handshake: { clusterId: config.clusterId ?? DEFAULT_CLUSTER_ID, ...(config.clusterUid !== undefined ? { clusterUid: config.clusterUid } : {}), segmentSizeBytes: config.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES },
      onMessage: (group, message) => this.#members.get(group)?.receive(message),
      onRepair: (group, message, from) => this.#repair.onMessage(group, message, from),
      ...(config.log !== undefined ? { log: config.log } : {}),
      ...(config.logPrefix !== undefined ? { logPrefix: config.logPrefix } : {}),
      ...(config.tls !== undefined ? { tls: config.tls } : {}),
    });
  }

  /** The link a member of `group` sends through (valid before the member is attached). */
  link(group: number): GroupLink {
    return {
      send: (message) => this.#transport.send(group, message),
      transportStats: () => this.transportStats(),
      setMembers: (members) => this.#setMembers(group, members),
      // The peers linked now (membership changes them): one repair source each.
      repairSources: () => this.#transport.peerIds.map((peer) => this.#repair.source(peer, group)),
    };
  }

  /** `group`'s members to reach changed: links for peers no group names any more are dropped, new ones added. Returns their client addresses. */
  #setMembers(group: number, members: readonly Member[]): Record<string, string> {
    const peers = new Map<string, string>();
    const clients: Record<string, string> = {};
    for (const m of members) {
      const a = this.#addressOf(m.address);
      peers.set(m.id, a?.raft ?? '');
      if (a !== undefined) clients[m.id] = a.client;
    }
    this.#reports.set(group, peers);
    this.#applyPeers();
    return clients;
  }

  #applyPeers(): void {
    const union = new Map<string, string>();
    for (const peers of this.#reports.values()) for (const [id, address] of peers) if (address !== '' || !union.has(id)) union.set(id, address);
    const t = this.#transport;
    // Only a peer some configuration named is dropped when none names it any more: one the
    // transport admitted unnamed (a newer member dialing in, peer-handshake.ts) stays until
    // this node learns of it from the log.
    for (const id of t.peerIds) if (!union.has(id) && this.#named.has(id)) t.removePeer(id);
    for (const id of union.keys()) this.#named.add(id);
    // An address this node already has wins over a Config entry's: it is how this node reaches
    // the peer (its own --peers: maybe a proxy, another interface); members never move.
    for (const [id, address] of union) {
      const known = t.stats().peers[id];
      if (known === undefined || (known.address === null && address !== '')) t.addPeer(id, address);
    }
  }

  /** The transport's counters that metrics need (one snapshot per call; not on any hot path). */
  transportStats(): TransportSnapshot {
    const s = this.#transport.stats();
    const peers: TransportSnapshot['peers'] = {};
    for (const [id, p] of Object.entries(s.peers)) peers[id] = { connected: p.connected, dropped: p.dropped, queuedBytes: p.queuedBytes };
    return { dropped: s.dropped, refused: s.refused, refusedByReason: s.refusedByReason, peers };
  }

  /** Reload the transport's TLS files (PeerTransport.reloadTls). */
  reloadTls(): void {
    this.#transport.reloadTls();
  }

  /** Phase one of a TLS reload (PeerTransport.prepareTlsReload): checks, and returns the swap. */
  prepareTlsReload(pem?: PemBytes): () => void {
    return this.#transport.prepareTlsReload(pem);
  }

  /** Deliver `group`'s messages to `member` from now on. */
  attach(group: number, member: M): void {
    this.#members.set(group, member);
  }

  detach(group: number): void {
    this.#members.delete(group);
    if (this.#reports.delete(group) && this.#reports.size > 0) this.#applyPeers();
  }

  member(group: number): M | undefined {
    return this.#members.get(group);
  }

  has(group: number): boolean {
    return this.#members.has(group);
  }

  /** Attached groups, ascending. */
  get groups(): number[] {
    return [...this.#members.keys()].sort((a, b) => a - b);
  }

  get members(): M[] {
    return [...this.#members.values()];
  }

  /** Start listening and dialing. */
  async start(): Promise<void> {
    await this.#transport.start();
  }

  /** Detach every member and close the transport (members stay open: their owner closes them). Idempotent. */
  close(): Promise<void> {
    this.#members.clear();
    this.#repair.close();
    return this.#transport.close();
  }
}
