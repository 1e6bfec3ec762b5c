/**
 * GroupShard: the groups one worker owns (or, with workers: 0, all groups on the calling
 * thread): their Ledgers (storage + Raft core) and one PeerTransport to the same worker
 * index on the other nodes. It serves HostRequests and returns wire-shaped results.
 */
import { threadId } from 'node:worker_threads';
import { RaftLedgerError } from '../errors.js';
import type { Ledger } from '../replica/ledger.js';
import { GroupSet, type GroupSetConfig } from '../replica/group-set.js';
import type { GroupStatus, HostOp, HostRequest, HostResponses } from './protocol.js';

export type { GroupStatus } from './protocol.js';

/** One handler per op; indexing it with a request's op keeps request and response types paired. */
type Handlers = { [K in HostOp]: (req: HostRequest<K>) => Promise<HostResponses[K]> | HostResponses[K] };

/** A GroupSet's config (listen and peers are this worker's addresses, clusterId per worker, see placement.ts) plus the worker and its groups. */
export interface ShardConfig extends GroupSetConfig {
  worker: number;
  groups: number[];
  /** Per-worker client ports: this worker serves clients at `listen`; `nodeClient` is the node's main client address, `workers` its W. */
  clients?: { listen: string; nodeClient: string; workers: number };
}

export class GroupShard {
  readonly #config: ShardConfig;
  readonly #set: GroupSet;

  private constructor(config: ShardConfig, set: GroupSet) {
    this.#config = config;
    this.#set = set;
  }

  static async open(config: ShardConfig, log: (line: string) => void = () => {}): Promise<GroupShard> {
    return new GroupShard(config, await GroupSet.open(config, config.groups, log, `worker ${config.worker} transport`));
  }

  get groups(): number[] {
    return this.#set.groups;
  }

  ledger(group: number): Ledger | undefined {
    return this.#set.ledger(group);
  }

  #get(group: number): Ledger {
    const ledger = this.#set.ledger(group);
    if (ledger === undefined) throw new RaftLedgerError('ERR_BAD_CONFIG', `worker ${this.#config.worker} of ${this.#config.id} does not host group ${group}`);
    return ledger;
  }

  addGroup(group: number): Promise<void> {
    return this.#set.addGroup(group);
  }

  removeGroup(group: number): Promise<void> {
    return this.#set.removeGroup(group);
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
      const acks = await this.#get(req.group).append(req.payloads);
      return { index: acks[0]!.index, pos: acks.map((a) => a.pos) };
    },
    read: (req) => this.#get(req.group).read(req.index, req.uncommitted === true ? { uncommitted: true } : {}),
    readRange: async (req) => {
      const ledger = this.#get(req.group);
      if (req.waitMs !== undefined && req.waitMs > 0 && req.from > ledger.commitIndex) await waitForCommit(ledger, req.from, req.waitMs);
      if (ledger.closed) return [];
      const options: { limit?: number; maxBytes?: number; uncommitted?: boolean } = {};
      if (req.limit !== undefined) options.limit = req.limit;
      if (req.maxBytes !== undefined) options.maxBytes = req.maxBytes;
      if (req.uncommitted === true) options.uncommitted = true;
      return ledger.readRange(req.from, options);
    },
    status: (req) => this.status(req.group),
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
  };

  /** Close every ledger (flushing) and the transport. Idempotent. */
  close(): Promise<void> {
    return this.#set.close();
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
