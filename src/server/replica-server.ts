/**
 * ReplicaServer: one raftledger server process's worth of replicas on the calling
 * thread: a PeerTransport to the other servers, one Ledger per Raft group (group g in
 * `<dir>/group-<g>`), and the client port. Groups share the one peer connection per
 * server pair; frames carry their group id.
 */
import { parseHostPort } from '../transport/address.js';
import { ClientListener } from './client-listener.js';
import type { Ledger } from '../replica/ledger.js';
import { GroupSet, groupDir } from '../replica/group-set.js';
import type { ServerConfig } from './config.js';
import { checkLogAtStartup } from '../storage/startup-check.js';
import type { OnFlushed } from '../storage/index.js';

export interface ReplicaServerOptions {
  log?: (line: string) => void;
  /** Skip the client port (hosts that serve clients some other way). */
  noClientPort?: boolean;
  /**
   * Damaged logs: without `repair` (default) a replica whose log is damaged anywhere refuses
   * to start (ERR_LOG_CORRUPT naming the file and offset). With `repair` it truncates its log
   * at the first damaged entry and re-fetches the rest from the leader.
   */
  repair?: boolean;
  /** TEST-ONLY: see SegmentedLogOptions.onFlushed (`raftledger server --fsync-journal`). */
  onFlushed?: OnFlushed;
}

export class ReplicaServer {
  readonly config: ServerConfig;
  readonly #groups: GroupSet;
  readonly #clients: ClientListener | undefined;
  #closing: Promise<void> | undefined;

  private constructor(config: ServerConfig, groups: GroupSet, options: ReplicaServerOptions) {
    this.config = config;
    this.#groups = groups;
    if (options.noClientPort !== true) {
      const { host, port } = parseHostPort(config.peers[config.id]!.client);
      this.#clients = new ClientListener({
        host,
        port,
        ledgerFor: (group) => groups.ledger(group),
        log: (line) => options.log?.(`[${config.id}] ${line}`),
      });
    }
  }

  static async start(config: ServerConfig, options: ReplicaServerOptions = {}): Promise<ReplicaServer> {
    const log = options.log ?? (() => {});
    const groups = Array.from({ length: config.groups }, (_, g) => g);
    for (const group of groups) {
      await checkLogAtStartup(groupDir(config.dir, group), options.repair === true, (line) => log(`[${config.id}] group ${group}: ${line}`));
    }
    const peers: Record<string, string> = {};
    const clientAddresses: Record<string, string> = {};
    for (const [id, p] of Object.entries(config.peers)) {
      clientAddresses[id] = p.client;
      if (id !== config.id) peers[id] = p.raft;
    }
    const set = await GroupSet.open(
      {
        dir: config.dir,
        id: config.id,
        members: Object.keys(config.peers),
        clientAddresses,
        listen: config.peers[config.id]!.raft,
        peers,
        clusterId: config.clusterId,
        durability: config.durability,
        segmentSizeBytes: config.segmentSizeBytes,
        tickMs: config.tickMs,
        heartbeatTicks: config.heartbeatTicks,
        electionTicks: config.electionTicks,
      },
      groups,
      log,
      'transport',
      options.onFlushed !== undefined ? { onFlushed: options.onFlushed } : {},
    );
    const server = new ReplicaServer(config, set, options);
    try {
      await server.#clients?.listen();
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  /** The Ledger of `group`, if this server hosts it. */
  ledger(group: number): Ledger | undefined {
    return this.#groups.ledger(group);
  }

  /** Close the client port, the ledgers (flushing them) and the transport. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#clients?.close();
      await this.#groups.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
