/**
 * HostServer: a server process's worth of groups on worker threads: a LedgerHost whose
 * workers serve clients on their own ports (client port + 1 + w), plus the node's client
 * port on the main thread, which answers status and sends data requests to the right
 * worker with ERR_MOVED. `raftledger server --workers N` (N > 0).
 */
import { ClientListener, type LedgerRouter } from './client-listener.js';
import type { ServerConfig } from './config.js';
import { parseHostPort } from '../transport/address.js';
import { LedgerHost } from '../host/ledger-host.js';
import { workerClientAddress, workerFor } from '../host/placement.js';

export class HostServer {
  readonly config: ServerConfig;
  readonly host: LedgerHost;
  readonly #clients: ClientListener;
  #closing: Promise<void> | undefined;

  private constructor(config: ServerConfig, host: LedgerHost, log: (line: string) => void) {
    this.config = config;
    this.host = host;
    const { host: h, port } = parseHostPort(config.peers[config.id]!.client);
    const router: LedgerRouter = {
      hasGroup: (group) => host.hasGroup(group),
      append: (group, payloads) => host.append(group, payloads, { copy: true }),
      read: (group, index) => host.read(group, index),
      status: (group) => host.status(group),
      // Data requests go to the worker's own client port; this thread answers status only.
      movedTo: (group, op) =>
        op === 'status' || !host.hasGroup(group)
          ? undefined
          : { id: config.id, address: workerClientAddress(config.peers[config.id]!.client, workerFor(group, config.workers)) },
    };
    this.#clients = new ClientListener({ host: h, port, router, log: (line) => log(`[${config.id}] ${line}`) });
  }

  /** `repair`: as ReplicaServer; the startup check of every group runs on the worker threads, in parallel (LedgerHost startupCheck). */
  static async start(config: ServerConfig, options: { log?: (line: string) => void; repair?: boolean } = {}): Promise<HostServer> {
    const log = options.log ?? (() => {});
    const host = await LedgerHost.open({
      dir: config.dir,
      id: config.id,
      peers: config.peers,
      workers: config.workers,
      groups: config.groups,
      durability: config.durability,
      clusterId: config.clusterId,
      segmentSizeBytes: config.segmentSizeBytes,
      tickMs: config.tickMs,
      heartbeatTicks: config.heartbeatTicks,
      electionTicks: config.electionTicks,
      startupCheck: options.repair === true ? 'repair' : 'verify',
      workerClientPorts: true,
      log,
    });
    const server = new HostServer(config, host, log);
    try {
      await server.#clients.listen();
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  /** Close the client port, then the host (flushing every group). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#clients.close();
      await this.host.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
