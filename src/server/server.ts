/**
 * Server: one raftledger server process's worth of replicas (`raftledger server`, with or
 * without --workers): a LedgerHost that runs every group, plus the node's client port.
 *
 *  - workers: 0: the groups run on the calling thread (the LedgerHost's one GroupShard, on
 *    the node's Raft port); the client port serves them straight from their Ledgers;
 *  - workers: N > 0: group g runs on worker g mod N (placement.ts); each worker also serves
 *    clients of its own groups on client port + 1 + w (this folder's worker.ts, the task
 *    file the server gives the LedgerHost), and the node's client port answers status and
 *    sends appends and reads there with ERR_MOVED.
 *
 * Who owns a Ledger (each builds on the one below it; nothing else opens replicas):
 *  - Ledger.open({ peers }) (replica/ledger.ts): one replica of one group embedded in an
 *    application, over its own transport: a GroupSet of one;
 *  - Ledger.open({ members, link }): one replica over a link the caller drives (tests, the
 *    simulator); no transport at all;
 *  - GroupSet (replica/group-set.ts): not an owner but the one place that builds a
 *    PeerTransport: the groups of one thread share it, frames carry the group id;
 *  - GroupShard (host/shard.ts): the groups of one thread (a worker, or the calling thread
 *    with workers: 0): opens their Ledgers in <dir>/group-<g> on one GroupSet and serves the
 *    host's requests;
 *  - LedgerHost (host/ledger-host.ts): many groups of one node for an application: one
 *    GroupShard on the calling thread (workers: 0) or one per worker thread (workers: N),
 *    with startup checks, restarts and batching across threads;
 *  - Server (this file): a LedgerHost plus client ports, configured by ServerConfig, and
 *    with metricsAddress an HTTP endpoint (http.ts): /metrics (metrics.ts, read from the
 *    host's status at scrape time), /health/live and /health/ready (health.ts).
 */
import type { Ledger } from '../replica/ledger.js';
import { groupTuningOf } from '../replica/ledger-types.js';
import { parseHostPort } from '../transport/address.js';
import { LedgerHost } from '../host/ledger-host.js';
import { workerClientAddress, workerFor } from '../host/placement.js';
import { ClientListener, ledgerMapRouter, type ClientListenerOptions, type LedgerRouter } from './client-listener.js';
import { loadTlsPem, readTokenFile, type ReloadMaterial, type TlsFiles } from '../transport/tls.js';
import { clientLimitsOf, type ServerConfig } from './config.js';
import type { OnFlushed } from '../storage/index.js';
import { SERVER_WORKER_MODULE } from './worker.js';
import { logLine, type Logger } from './logger.js';
import { ServerMetrics, type ClientPortCounters } from './metrics.js';
import { readiness, type ReadyVerdict } from './health.js';
import { HttpEndpoint } from './http.js';

/** The TLS files of a config, if it has TLS. */
function tlsFilesOf(config: ServerConfig): TlsFiles | undefined {
  if (config.tlsCert === undefined || config.tlsKey === undefined || config.tlsCa === undefined) return undefined;
  return { cert: config.tlsCert, key: config.tlsKey, ca: config.tlsCa };
}

/** The TLS PEM and the client token of a config, read once for every port and thread (ERR_TLS, ERR_BAD_CONFIG). */
function readMaterial(config: ServerConfig): ReloadMaterial {
  const files = tlsFilesOf(config);
  return {
    ...(files !== undefined ? { tls: loadTlsPem(files) } : {}),
    ...(config.clientAuth === 'token' && config.clientTokenFile !== undefined ? { token: readTokenFile(config.clientTokenFile) } : {}),
  };
}

/** The client listener's TLS and auth options of a config (plain data: they also cross to the worker client ports). */
function securityOf(config: ServerConfig): Pick<ClientListenerOptions, 'tls' | 'clientAuth' | 'tokenFile'> {
  const tls = tlsFilesOf(config);
  return {
    ...(tls !== undefined ? { tls } : {}),
    ...(config.clientAuth !== undefined ? { clientAuth: config.clientAuth } : {}),
    ...(config.clientTokenFile !== undefined ? { tokenFile: config.clientTokenFile } : {}),
  };
}

/** /health/ready default: most entries a follower may trail the leader's commit. */
export const DEFAULT_READY_MAX_LAG_ENTRIES = 10_000;
/** /health/ready: a follower that heard nothing from its leader for this many base election timeouts is not ready. */
export const READY_LEADER_CONTACT_ELECTION_TIMEOUTS = 2;

export interface ServerOptions {
  log?: (line: string) => void;
  /** Structured logger: the layers' lines become records (logger.ts); takes precedence over `log`. */
  logger?: Logger;
  /**
   * Damaged logs: without `repair` (default) a replica whose log is damaged anywhere refuses
   * to start (ERR_LOG_CORRUPT naming the file and offset). With `repair` it truncates its log
   * at the first damaged entry and re-fetches the rest from the leader. The check of every
   * group runs before any group opens: on the worker threads, in parallel, with workers > 0.
   */
  repair?: boolean;
  /** TEST-ONLY: see SegmentedLogOptions.onFlushed (`raftledger server --fsync-journal`); needs workers: 0. */
  onFlushed?: OnFlushed;
  /** The uid of the cluster this server joins (`server --join` learned it; LedgerHostOptions.clusterUid). */
  clusterUid?: string;
}

export class Server {
  readonly config: ServerConfig;
  readonly host: LedgerHost;
  readonly #clients: ClientListener;
  #metrics: ServerMetrics | undefined;
  #http: HttpEndpoint | undefined;
  #closing: Promise<void> | undefined;
  /** Settles when the reload in progress does: reloads run one at a time. */
  #reloading: Promise<unknown> = Promise.resolve();

  private constructor(config: ServerConfig, host: LedgerHost, log: (line: string) => void) {
    this.config = config;
    this.host = host;
    const self = config.peers[config.id]!;
    const { host: h, port } = parseHostPort(self.client);
    const router: LedgerRouter =
      config.workers === 0
        ? ledgerMapRouter((group) => host.localLedger(group))
        : {
            hasGroup: (group) => host.hasGroup(group),
            append: (group, payloads, producer) => host.append(group, payloads, producer === undefined ? { copy: true } : { copy: true, producer }),
            read: (group, index) => host.read(group, index),
            status: (group) => host.status(group),
            commitPosition: (group, options) => host.commitPosition(group, options),
            members: (group) => host.members(group),
            changeMembers: (group, change) => host.changeMembers(group, change),
            // Data requests go to the worker's own client port; this thread answers status and membership only.
            movedTo: (group, op) =>
              op === 'status' || op === 'producerId' || op === 'members' || op === 'changeMembers' || !host.hasGroup(group) ? undefined : { id: config.id, address: workerClientAddress(self.client, workerFor(group, config.workers)) },
          };
    const identity = { serverId: config.id, clusterId: config.clusterId, clusterUid: host.clusterUid };
    this.#clients = new ClientListener({ host: h, port, router, identity, ...clientLimitsOf(config), ...securityOf(config), log: (line) => log(`[${config.id}] ${line}`) });
  }

  /**
   * SIGHUP: read the TLS files and the token file again, once, and install them on every
   * part of the node or on none: the node's client port, the Raft transport of every
   * thread and, with workers, every worker's client port. Each part checks the material
   * first (the host's prepareReload on every worker); only when all accept is it swapped
   * everywhere. New connections (accepted and dialed) use it; open ones keep theirs. On a
   * failure (ERR_TLS, ERR_BAD_CONFIG, ERR_UNAVAILABLE while a worker restarts) it rejects
   * and every part keeps the old material. Without TLS and token auth there is nothing to
   * reload: resolves false. Reloads run one at a time.
   */
  reloadTls(): Promise<boolean> {
    const run = this.#reloading.then(() => this.#reload());
    this.#reloading = run.catch(() => {});
    return run;
  }

  async #reload(): Promise<boolean> {
    const c = this.config;
    if (c.tlsCert === undefined && c.clientAuth !== 'token') return false;
    const material = readMaterial(c);
    const swapClients = this.#clients.prepareReload(material);
    const staged = await this.host.prepareReload(material);
    swapClients();
    await staged.commit();
    return true;
  }

  static async start(config: ServerConfig, options: ServerOptions = {}): Promise<Server> {
    const logger = options.logger;
    const log = logger !== undefined ? (line: string) => logLine(logger, line) : (options.log ?? (() => {}));
    const material = readMaterial(config);
    const host = await LedgerHost.open(
      {
        dir: config.dir,
        id: config.id,
        peers: config.peers,
        ...(config.learners !== undefined ? { learners: config.learners } : {}),
        workers: config.workers,
        groups: config.groups,
        durability: config.durability,
        clusterId: config.clusterId,
        ...(options.clusterUid !== undefined ? { clusterUid: options.clusterUid } : {}),
        ...groupTuningOf(config),
        startupCheck: options.repair === true ? 'repair' : 'verify',
        log,
        ...(tlsFilesOf(config) !== undefined ? { tls: tlsFilesOf(config)! } : {}),
      },
      {
        material,
        ...(config.workers > 0
          ? { workerModule: SERVER_WORKER_MODULE, workerClientPorts: true, clientListenerOptions: { ...clientLimitsOf(config), ...securityOf(config) } }
          : options.onFlushed !== undefined
            ? { onFlushed: options.onFlushed }
            : {}),
      },
    );
    let server: Server;
    try {
      server = new Server(config, host, log);
      server.#clients.prepareReload(material)(); // the same bytes as every other part
    } catch (error) {
      await host.close(); // e.g. an unreadable token file: the host must not outlive the refusal
      throw error;
    }
    try {
      await server.#clients.listen();
      if (config.metricsAddress !== undefined) await server.#listenHttp(config.metricsAddress);
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  async #listenHttp(address: string): Promise<void> {
    const { host, port } = parseHostPort(address);
    const metrics = new ServerMetrics({
      hostStatus: () => this.host.status(),
      clientPort: () => this.#clientPortCounters(),
      workerClientPorts: () => this.#workerClientPorts(),
      loopDelay: () => this.#clients.loopDelay(),
      ready: (status) => readiness(status, this.#groupIds(), this.#readyOptions()).ready,
    });
    this.#metrics = metrics;
    this.#http = new HttpEndpoint({ host, port, metrics, ready: () => this.ready(), identity: { id: this.config.id } });
    await this.#http.listen();
  }

  /** The node's client port counters (connections open, refused at the cap, closed idle, ...). */
  #clientPortCounters(): ClientPortCounters {
    return this.#clients.stats();
  }

  /** Each worker's client port counters (workers > 0; its ClientListener.stats(), over the host RPC). */
  async #workerClientPorts(): Promise<Array<{ worker: number; counters: ClientPortCounters }>> {
    const per = await this.host.attachmentStats();
    return per.map(({ worker, stats }) => ({ worker, counters: stats as unknown as ClientPortCounters }));
  }

  #groupIds(): number[] {
    return Array.from({ length: this.config.groups }, (_, g) => g);
  }

  #readyOptions(): { maxLagEntries: number; leaderContactMaxMs: number } {
    const c = this.config;
    return {
      maxLagEntries: c.readyMaxLagEntries ?? DEFAULT_READY_MAX_LAG_ENTRIES,
      leaderContactMaxMs: READY_LEADER_CONTACT_ELECTION_TIMEOUTS * (c.electionTicks ?? 50) * (c.tickMs ?? 10),
    };
  }

  /** What /health/ready answers (see health.ts). */
  async ready(): Promise<ReadyVerdict> {
    return readiness(await this.host.status(), this.#groupIds(), this.#readyOptions());
  }

  /** The metrics of --metrics (undefined when off): e.g. connectionRejected(reason) for refusals counted outside the client port. */
  get metrics(): ServerMetrics | undefined {
    return this.#metrics;
  }

  /** The Ledger of `group` when the groups run on this thread (workers: 0), else undefined. */
  ledger(group: number): Ledger | undefined {
    return this.host.localLedger(group);
  }

  /** Close the client port, then the host (flushing every group). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#http?.close();
      await this.#clients.close();
      await this.host.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
