/**
 * ReplicaServer: one raftledger server process's worth of replicas on the calling
 * thread: a PeerTransport to the other servers, one Ledger per Raft group (group g in
 * `<dir>/group-<g>`), and the client port. Groups share the one peer connection per
 * server pair; frames carry their group id.
 */
import { join } from 'node:path';
import { PeerTransport } from '../transport/peer-transport.js';
import { parseHostPort } from '../transport/address.js';
import { DEFAULT_SEGMENT_SIZE_BYTES } from '../storage/index.js';
import { ClientListener } from './client-listener.js';
import { Ledger } from './ledger.js';
import type { ServerConfig } from './config.js';

export interface ReplicaServerOptions {
  log?: (line: string) => void;
  /** Skip the client port (hosts that serve clients some other way). */
  noClientPort?: boolean;
}

export function groupDir(dir: string, group: number): string {
  return join(dir, `group-${group}`);
}

export class ReplicaServer {
  readonly config: ServerConfig;
  readonly ledgers = new Map<number, Ledger>();
  readonly #transport: PeerTransport;
  readonly #clients: ClientListener | undefined;
  readonly #log: (line: string) => void;
  #closing: Promise<void> | undefined;

  private constructor(config: ServerConfig, options: ReplicaServerOptions) {
    this.config = config;
    this.#log = options.log ?? (() => {});
    const peers: Record<string, string> = {};
    for (const [id, p] of Object.entries(config.peers)) if (id !== config.id) peers[id] = p.raft;
    this.#transport = new PeerTransport({
      id: config.id,
      listen: parseHostPort(config.peers[config.id]!.raft),
      peers,
      handshake: { clusterId: config.clusterId, segmentSizeBytes: config.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES },
      onMessage: (group, message) => this.ledgers.get(group)?.receive(message),
      log: (line) => this.#log(`[${config.id}] transport: ${line}`),
    });
    if (options.noClientPort !== true) {
      const { host, port } = parseHostPort(config.peers[config.id]!.client);
      this.#clients = new ClientListener({
        host,
        port,
        ledgerFor: (group) => this.ledgers.get(group),
        log: (line) => this.#log(`[${config.id}] ${line}`),
      });
    }
  }

  static async start(config: ServerConfig, options: ReplicaServerOptions = {}): Promise<ReplicaServer> {
    const server = new ReplicaServer(config, options);
    try {
      const members = Object.keys(config.peers);
      const clientAddresses: Record<string, string> = {};
      for (const [id, p] of Object.entries(config.peers)) clientAddresses[id] = p.client;
      for (let group = 0; group < config.groups; group++) {
        const ledger = await Ledger.open({
          dir: groupDir(config.dir, group),
          id: config.id,
          members,
          clientAddresses,
          group,
          link: { send: (message) => server.#transport.send(group, message) },
          durability: config.durability,
          ...(config.segmentSizeBytes !== undefined ? { segmentSizeBytes: config.segmentSizeBytes } : {}),
          ...(config.tickMs !== undefined ? { tickMs: config.tickMs } : {}),
          ...(config.heartbeatTicks !== undefined ? { heartbeatTicks: config.heartbeatTicks } : {}),
          ...(config.electionTicks !== undefined ? { electionTicks: config.electionTicks } : {}),
          onLog: (line) => server.#log(line),
        });
        ledger.on('error', (error) => server.#log(`[${config.id}] group ${group} stopped: ${error.message}`));
        server.ledgers.set(group, ledger);
      }
      await server.#transport.start();
      await server.#clients?.listen();
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  /** Close the client port, the ledgers (flushing them) and the transport. Idempotent. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closing = (async () => {
      await this.#clients?.close();
      await Promise.allSettled([...this.ledgers.values()].map((l) => l.close()));
      await this.#transport.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
