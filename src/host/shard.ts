/**
 * GroupShard: the groups one worker owns (or, with workers: 0, all groups on the calling
 * thread): their Ledgers (storage + Raft core, group g in `<dir>/group-<g>`) on one
 * GroupSet, i.e. one PeerTransport to the same worker index on the other nodes. It opens
 * and closes the ledgers, serves HostRequests and returns wire-shaped results.
 */
import { threadId } from 'node:worker_threads';
import { RaftLedgerError } from '../errors.js';
import type { ReloadMaterial, TlsFiles } from '../transport/tls.js';
import type { DamagedRange, OnFlushed } from '../storage/index.js';
import { Ledger, type Durability } from '../replica/ledger.js';
import { groupTuningOf, type GroupTuning } from '../replica/ledger-types.js';
import { GroupSet, groupDir } from '../replica/group-set.js';
import { memberAddresses } from '../replica/peers.js';
import { applyMemberChange } from '../replica/membership.js';
import { workerClientAddress, workerRaftAddress } from './placement.js';
import type { AttachmentStats, GroupStatus, HostOp, HostRequest, HostResponses } from './protocol.js';

export type { GroupStatus } from './protocol.js';

/** One handler per op; indexing it with a request's op keeps request and response types paired. */
type Handlers = { [K in HostOp]: (req: HostRequest<K>) => Promise<HostResponses[K]> | HostResponses[K] };

/** One worker's share of a node (listen, peers and clusterId are this worker's, see placement.ts). */
export interface ShardConfig extends GroupTuning {
  dir: string;
  id: string;
  /** Every voting member's id (the bootstrap configuration; a stored one wins). */
  members: string[];
  /** Bootstrap learners' ids (a node joining a group lists itself). */
  learners?: string[];
  /** Each bootstrap member's base addresses 'host:raftPort/clientPort', as Config entries store them. */
  memberAddresses: Record<string, string>;
  /** The client addresses this worker hints are per-worker ports (workerClientAddress). */
  workerClientPorts?: boolean;
  clientAddresses: Record<string, string>;
  /** This worker's Raft listen address and the same worker's on every other member. */
  listen: string;
  peers: Record<string, string>;
  clusterId: string;
  /** The node's cluster uid (replica/cluster-id.ts): the same on every worker. */
  clusterUid: string;
  /** The cluster id stored in the group directories (the transport's clusterId is per worker, see placement.ts). */
  dirClusterId: string;
  durability: Durability;
  worker: number;
  groups: number[];
  /** Mutual TLS with the peers (transport/tls.ts); crosses to workers as paths or PEM bytes. */
  tls?: TlsFiles;
  /**
   * The material in force (read once by the host at open, then each committed reload,
   * LedgerHost.prepareReload): its TLS takes the place of `tls`, so that no thread reads
   * the files on its own (a worker restarted after the files changed still matches the
   * others), and the worker's attachment applies all of it.
   */
  material?: ReloadMaterial;
  /**
   * Per-worker client ports: this worker serves clients at `listen`; `nodeClient` is the
   * node's main client address, `workers` its W; `listenerOptions` plain data for the
   * worker module's listener (limits, TLS files, client auth), opaque here.
   */
  clients?: { listen: string; nodeClient: string; workers: number; listenerOptions?: Readonly<Record<string, unknown>> };
  /** Per group: damaged ranges the startup check found, repaired from peers before open() resolves (issue 16). */
  startupDamage?: Record<number, DamagedRange[]>;
}

/**
 * Something a worker module's hook attached to the worker (the server's worker client
 * port): closed before the shard, and reloaded and read with it.
 */
export interface Attachment {
  close(): Promise<void>;
  /** Phase one of a reload: check `material` and return the swap, which cannot fail (throw to refuse). */
  prepareReload?(material: ReloadMaterial): () => void;
  /** Plain-data counters (LedgerHost.attachmentStats). */
  stats?(): AttachmentStats;
}

/** Functions for a shard's ledgers: not part of ShardConfig, which crosses to worker threads as data. */
export interface ShardHooks {
  /** TEST-ONLY: see HostInternals.onFlushed. */
  onFlushed?: OnFlushed;
}

export class GroupShard {
  readonly #config: ShardConfig;
  readonly #log: (line: string) => void;
  readonly #set: GroupSet<Ledger>;
  readonly #opening = new Map<number, Promise<Ledger>>();
  #closing: Promise<void> | undefined;

  readonly #hooks: ShardHooks;
  #attachment: Attachment | undefined;
  /** The swap of a prepared reload, until reloadCommit or reloadAbort. */
  #staged: (() => void) | undefined;

  private constructor(config: ShardConfig, log: (line: string) => void, hooks: ShardHooks) {
    this.#hooks = hooks;
    this.#config = config;
    this.#log = log;
    this.#set = new GroupSet<Ledger>({
      id: config.id,
      listen: config.listen,
      peers: config.peers,
      clusterId: config.clusterId,
      clusterUid: config.clusterUid,
      segmentSizeBytes: config.segmentSizeBytes,
      log,
      logPrefix: `[${config.id}] worker ${config.worker} transport: `,
      ...(config.tls !== undefined ? { tls: config.material?.tls ?? config.tls } : {}),
      addressOf: (address) => {
        const a = memberAddresses(address);
        if (a === undefined) return undefined;
        return { raft: workerRaftAddress(a.raft, config.worker), client: config.workerClientPorts === true ? workerClientAddress(a.client, config.worker) : a.client };
      },
    });
  }

  /** Open the shard's groups, then start listening and dialing. */
  static async open(config: ShardConfig, log: (line: string) => void = () => {}, hooks: ShardHooks = {}): Promise<GroupShard> {
    const shard = new GroupShard(config, log, hooks);
    try {
      await Promise.all(config.groups.map((g) => shard.addGroup(g)));
      await shard.#set.start();
      // A group with damaged records serves only once they are repaired from peers (self-repair.ts).
      await Promise.all(config.groups.map((g) => shard.ledger(g)?.startupRepaired.catch((e: Error) => Promise.reject(Object.assign(e, { message: `group ${g}: ${e.message}` })))));
    } catch (error) {
      await shard.close();
      throw error;
    }
    return shard;
  }

  get groups(): number[] {
    return this.#set.groups;
  }

  ledger(group: number): Ledger | undefined {
    return this.#set.member(group);
  }

  #get(group: number): Ledger {
    const ledger = this.#set.member(group);
    if (ledger === undefined) throw new RaftLedgerError('ERR_BAD_CONFIG', `worker ${this.#config.worker} of ${this.#config.id} does not host group ${group}`);
    return ledger;
  }

  /** Open group `group` from `<dir>/group-<group>` (idempotent). */
  async addGroup(group: number): Promise<void> {
    if (this.#closing !== undefined) throw new RaftLedgerError('ERR_CLOSED', 'the group set is closed');
    if (this.#set.has(group)) return;
    let opening = this.#opening.get(group);
    if (opening === undefined) {
      const c = this.#config;
      opening = Ledger.open({
        dir: groupDir(c.dir, group),
        id: c.id,
        members: c.members,
        ...(c.learners !== undefined ? { learners: c.learners } : {}),
        memberAddresses: c.memberAddresses,
        clientAddresses: c.clientAddresses,
        group,
        clusterId: c.dirClusterId,
        clusterUid: c.clusterUid,
        link: this.#set.link(group),
        durability: c.durability,
        ...groupTuningOf(c),
        ...(c.startupDamage?.[group] !== undefined ? { startupDamage: c.startupDamage[group] } : {}),
        onLog: (line) => this.#log(line),
        ...(this.#hooks.onFlushed !== undefined ? { onFlushed: this.#hooks.onFlushed } : {}),
      });
      this.#opening.set(group, opening);
    }
    try {
      const ledger = await opening;
      if (!this.#set.has(group)) {
        ledger.on('error', (error) => this.#log(`[${this.#config.id}] group ${group} stopped: ${error.message}`));
        this.#set.attach(group, ledger);
      }
    } finally {
      this.#opening.delete(group);
    }
  }

  /** Close group `group` (its data stays on disk). */
  async removeGroup(group: number): Promise<void> {
    const ledger = this.#set.member(group);
    if (ledger === undefined) return;
    this.#set.detach(group);
    await ledger.close();
  }

  status(group: number): GroupStatus {
    return { ...this.#get(group).status(), worker: this.#config.worker, threadId };
  }

  /** Serve one request; results are wire-shaped (append acks compacted, entries as they are). */
  async handle<K extends HostOp>(req: HostRequest<K>): Promise<HostResponses[K]> {
    const handler: Handlers[K] = this.#handlers[req.op];
    return handler(req);
  }

  readonly #handlers: Handlers = {
    append: async (req) => {
      const acks = await this.#get(req.group).append(req.payloads, req.producer === undefined ? {} : { producer: req.producer });
      return { index: acks[0]!.index, pos: acks.map((a) => a.pos) };
    },
    read: (req) => this.#get(req.group).read(req.index, req.uncommitted === true ? { uncommitted: true } : {}),
    readRange: async (req) => {
      const ledger = this.#get(req.group);
      if (req.waitMs !== undefined && req.waitMs > 0 && req.from > ledger.commitIndex) await waitForCommit(ledger, req.from, req.waitMs);
      if (ledger.closed) return [];
      const options: { limit?: number; maxBytes?: number; uncommitted?: boolean; includeSystem?: boolean } = {};
      if (req.limit !== undefined) options.limit = req.limit;
      if (req.maxBytes !== undefined) options.maxBytes = req.maxBytes;
      if (req.uncommitted === true) options.uncommitted = true;
      if (req.includeSystem === true) options.includeSystem = true;
      return ledger.readRange(req.from, options);
    },
    status: (req) => this.status(req.group),
    commitPosition: (req) => this.#get(req.group).commitPosition({ ...(req.consistency !== undefined ? { consistency: req.consistency } : {}), ...(req.maxLagMs !== undefined ? { maxLagMs: req.maxLagMs } : {}) }),
    statusAll: () => this.groups.map((g) => this.status(g)),
    transferLeadership: async (req) => {
      await this.#get(req.group).transferLeadership(req.to, req.timeoutMs !== undefined ? { timeoutMs: req.timeoutMs } : {});
      return null;
    },
    addGroup: async (req) => {
      await this.addGroup(req.group);
      return null;
    },
    removeGroup: async (req) => {
      await this.removeGroup(req.group);
      return null;
    },
    members: (req) => this.#get(req.group).members(),
    changeMembers: async (req) => {
      await applyMemberChange(this.#get(req.group), req.change);
      return null;
    },
    reloadPrepare: (req) => {
      this.#staged = undefined;
      this.#staged = this.prepareReload(req.material);
      return null;
    },
    reloadCommit: () => {
      const swap = this.#staged;
      this.#staged = undefined;
      if (swap === undefined) throw new RaftLedgerError('ERR_BAD_CONFIG', `worker ${this.#config.worker} of ${this.#config.id} has no prepared reload to commit`);
      swap();
      return null;
    },
    reloadAbort: () => {
      this.#staged = undefined;
      return null;
    },
    attachmentStats: () => this.#attachment?.stats?.() ?? null,
  };

  /** Reloads and stats reach `attachment` too (the worker module's, see runShardWorker). */
  attach(attachment: Attachment): void {
    this.#attachment = attachment;
  }

  /**
   * Phase one of a reload: the transport (with TLS, from material.tls; absent: kept) and the
   * attachment check `material`; returns the swap of both, which cannot fail. Throws
   * (ERR_TLS, ERR_BAD_CONFIG) with nothing changed when either refuses.
   */
  prepareReload(material: ReloadMaterial): () => void {
    const transport = this.#config.tls !== undefined && material.tls !== undefined ? this.#set.prepareTlsReload(material.tls) : undefined;
    const attachment = this.#attachment?.prepareReload?.(material);
    return () => {
      transport?.();
      attachment?.();
    };
  }

  /** Close every ledger (flushing), then the transport. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#opening.values()]);
      const ledgers = this.#set.members;
      for (const g of this.#set.groups) this.#set.detach(g);
      await Promise.allSettled(ledgers.map((l) => l.close()));
      await this.#set.close();
    })();
    return this.#closing;
  }
}

function waitForCommit(ledger: Ledger, index: number, waitMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      ledger.off('commit', onCommit);
      resolve();
    };
    const onCommit = (commit: number): void => {
      if (commit >= index || ledger.closed) done();
    };
    const timer = setTimeout(done, waitMs);
    ledger.on('commit', onCommit);
  });
}
