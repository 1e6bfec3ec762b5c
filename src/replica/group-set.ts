/**
 * GroupSet: Raft groups of one node that share one PeerTransport (frames carry the group
 * id): one Ledger per group, group g in `<dir>/group-<g>`. ReplicaServer runs one on the
 * main thread; each LedgerHost worker runs one for its shard.
 */
import { join } from 'node:path';
import { RaftLedgerError } from '../errors.js';
import { DEFAULT_SEGMENT_SIZE_BYTES } from '../storage/index.js';
import { parseHostPort } from '../transport/address.js';
import { PeerTransport } from '../transport/peer-transport.js';
import { Ledger, type Durability } from './ledger.js';

export function groupDir(dir: string, group: number): string {
  return join(dir, `group-${group}`);
}

export interface GroupSetConfig {
  dir: string;
  id: string;
  /** Every voting member's id. */
  members: string[];
  clientAddresses: Record<string, string>;
  /** This node's Raft listen address and every other member's. */
  listen: string;
  peers: Record<string, string>;
  clusterId: string;
  durability: Durability;
  segmentSizeBytes?: number;
  tickMs?: number;
  heartbeatTicks?: number;
  electionTicks?: number;
}

export class GroupSet {
  readonly #config: GroupSetConfig;
  readonly #log: (line: string) => void;
  readonly #ledgers = new Map<number, Ledger>();
  readonly #opening = new Map<number, Promise<Ledger>>();
  readonly #transport: PeerTransport;
  #closing: Promise<void> | undefined;

  private constructor(config: GroupSetConfig, log: (line: string) => void, transportLabel: string) {
    this.#config = config;
    this.#log = log;
    this.#transport = new PeerTransport({
      id: config.id,
      listen: parseHostPort(config.listen),
      peers: config.peers,
      handshake: { clusterId: config.clusterId, segmentSizeBytes: config.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES },
      onMessage: (group, message) => this.#ledgers.get(group)?.receive(message),
      log,
      logPrefix: `[${config.id}] ${transportLabel}: `,
    });
  }

  /** Open `groups`, then start listening and dialing. */
  static async open(config: GroupSetConfig, groups: readonly number[], log: (line: string) => void = () => {}, transportLabel = 'transport'): Promise<GroupSet> {
    const set = new GroupSet(config, log, transportLabel);
    try {
      await Promise.all(groups.map((g) => set.addGroup(g)));
      await set.#transport.start();
    } catch (error) {
      await set.close();
      throw error;
    }
    return set;
  }

  get groups(): number[] {
    return [...this.#ledgers.keys()].sort((a, b) => a - b);
  }

  ledger(group: number): Ledger | undefined {
    return this.#ledgers.get(group);
  }

  /** Open group `group` from `<dir>/group-<group>` (idempotent). */
  async addGroup(group: number): Promise<void> {
    if (this.#closing !== undefined) throw new RaftLedgerError('ERR_CLOSED', 'the group set is closed');
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
        segmentSizeBytes: c.segmentSizeBytes,
        tickMs: c.tickMs,
        heartbeatTicks: c.heartbeatTicks,
        electionTicks: c.electionTicks,
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
