/**
 * GroupShard: the groups one worker owns (or, with workers: 0, all groups on the calling
 * thread): their Ledgers (storage + Raft core) and one PeerTransport to the same worker
 * index on the other nodes. It serves HostRequests and returns wire-shaped results.
 */
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { RaftLedgerError } from '../errors.js';
import { Ledger, type Durability, type LedgerEntry, type LedgerStatus } from '../replica/ledger.js';
import { PeerTransport } from '../transport/peer-transport.js';
import { parseHostPort } from '../transport/address.js';
import { DEFAULT_SEGMENT_SIZE_BYTES } from '../storage/index.js';
import type { HostRequest, WireAppendAck } from './protocol.js';

export interface ShardConfig {
  dir: string;
  id: string;
  /** Every voting member's id. */
  members: string[];
  clientAddresses: Record<string, string>;
  /** This shard's Raft listen address and the same worker's address on every other node. */
  listen: string;
  peers: Record<string, string>;
  /** Handshake cluster id (already made per worker, see placement.ts). */
  clusterId: string;
  durability: Durability;
  worker: number;
  groups: number[];
  segmentSizeBytes?: number;
  tickMs?: number;
  heartbeatTicks?: number;
  electionTicks?: number;
}

export interface GroupStatus extends LedgerStatus {
  /** Worker index (0 with workers: 0) and the thread the group runs on. */
  worker: number;
  threadId: number;
}

export function groupDir(dir: string, group: number): string {
  return join(dir, `group-${group}`);
}

export class GroupShard {
  readonly #config: ShardConfig;
  readonly #log: (line: string) => void;
  readonly #ledgers = new Map<number, Ledger>();
  readonly #opening = new Map<number, Promise<Ledger>>();
  readonly #transport: PeerTransport;
  #closing: Promise<void> | undefined;

  private constructor(config: ShardConfig, log: (line: string) => void) {
    this.#config = config;
    this.#log = log;
    this.#transport = new PeerTransport({
      id: config.id,
      listen: parseHostPort(config.listen),
      peers: config.peers,
      handshake: { clusterId: config.clusterId, segmentSizeBytes: config.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES },
      onMessage: (group, message) => this.#ledgers.get(group)?.receive(message),
      log: (line) => log(`[${config.id}] worker ${config.worker} transport: ${line}`),
    });
  }

  static async open(config: ShardConfig, log: (line: string) => void = () => {}): Promise<GroupShard> {
    const shard = new GroupShard(config, log);
    try {
      await Promise.all(config.groups.map((g) => shard.addGroup(g)));
      await shard.#transport.start();
    } catch (error) {
      await shard.close();
      throw error;
    }
    return shard;
  }

  get groups(): number[] {
    return [...this.#ledgers.keys()].sort((a, b) => a - b);
  }

  ledger(group: number): Ledger | undefined {
    return this.#ledgers.get(group);
  }

  #get(group: number): Ledger {
    const ledger = this.#ledgers.get(group);
    if (ledger === undefined) throw new RaftLedgerError('ERR_BAD_CONFIG', `worker ${this.#config.worker} of ${this.#config.id} does not host group ${group}`);
    return ledger;
  }

  /** Open group `group` from `<dir>/group-<group>` (idempotent). */
  async addGroup(group: number): Promise<void> {
    if (this.#closing !== undefined) throw new RaftLedgerError('ERR_CLOSED', 'the shard is closed');
    if (this.#ledgers.has(group)) return;
    let opening = this.#opening.get(group);
    if (opening === undefined) {
      const c = this.#config;
      opening = Ledger.open({
        dir: groupDir(c.dir, group),
        id: c.id,
        members: c.members,
        clientAddresses: c.clientAddresses,
        group,
        link: { send: (message) => this.#transport.send(group, message) },
        durability: c.durability,
        ...(c.segmentSizeBytes !== undefined ? { segmentSizeBytes: c.segmentSizeBytes } : {}),
        ...(c.tickMs !== undefined ? { tickMs: c.tickMs } : {}),
        ...(c.heartbeatTicks !== undefined ? { heartbeatTicks: c.heartbeatTicks } : {}),
        ...(c.electionTicks !== undefined ? { electionTicks: c.electionTicks } : {}),
        onLog: (line) => this.#log(line),
      });
      this.#opening.set(group, opening);
    }
    try {
      const ledger = await opening;
      if (!this.#ledgers.has(group)) {
        ledger.on('error', (error) => this.#log(`[${this.#config.id}] group ${group} stopped: ${error.message}`));
        this.#ledgers.set(group, ledger);
      }
    } finally {
      this.#opening.delete(group);
    }
  }

  /** Close group `group` (its data stays on disk). */
  async removeGroup(group: number): Promise<void> {
    const ledger = this.#ledgers.get(group);
    if (ledger === undefined) return;
    this.#ledgers.delete(group);
    await ledger.close();
  }

  status(group: number): GroupStatus {
    return { ...this.#get(group).status(), worker: this.#config.worker, threadId };
  }

  /** Serve one request; results are wire-shaped (append acks compacted, entries as they are). */
  async handle(req: HostRequest): Promise<unknown> {
    switch (req.op) {
      case 'append': {
        const acks = await this.#get(req.group).append(req.payloads);
        const out: WireAppendAck = { index: acks[0]!.index, pos: acks.map((a) => a.pos) };
        return out;
      }
      case 'read':
        return this.#get(req.group).read(req.index, req.uncommitted === true ? { uncommitted: true } : {});
      case 'readRange': {
        const ledger = this.#get(req.group);
        if (req.waitMs !== undefined && req.waitMs > 0 && req.from > ledger.commitIndex) await waitForCommit(ledger, req.from, req.waitMs);
        if (ledger.closed) return [];
        const options: { limit?: number; maxBytes?: number; uncommitted?: boolean } = {};
        if (req.limit !== undefined) options.limit = req.limit;
        if (req.maxBytes !== undefined) options.maxBytes = req.maxBytes;
        if (req.uncommitted === true) options.uncommitted = true;
        return ledger.readRange(req.from, options) satisfies LedgerEntry[];
      }
      case 'status':
        return this.status(req.group);
      case 'statusAll':
        return this.groups.map((g) => this.status(g));
      case 'transferLeadership':
        await this.#get(req.group).transferLeadership(req.to, req.timeoutMs !== undefined ? { timeoutMs: req.timeoutMs } : {});
        return null;
      case 'addGroup':
        await this.addGroup(req.group);
        return null;
      case 'removeGroup':
        await this.removeGroup(req.group);
        return null;
    }
  }

  /** Close every ledger (flushing) and the transport. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#opening.values()]);
      const ledgers = [...this.#ledgers.values()];
      this.#ledgers.clear();
      await Promise.allSettled(ledgers.map((l) => l.close()));
      await this.#transport.close();
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
