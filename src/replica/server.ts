/**
 * ReplicaServer: one raftledger server process's worth of replicas on the calling
 * thread: a PeerTransport to the other servers, one Ledger per Raft group (group g in
 * `<dir>/group-<g>`), and the client port. Groups share the one peer connection per
 * server pair; frames carry their group id.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RaftLedgerError, isRaftLedgerError } from '../errors.js';
import { SegmentedLog, verifyLog } from '../storage/index.js';
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
  /**
   * Damaged logs: without `repair` (default) a replica whose log is damaged anywhere refuses
   * to start (ERR_LOG_CORRUPT naming the file and offset). With `repair` it truncates its log
   * at the first damaged entry and re-fetches the rest from the leader.
   */
  repair?: boolean;
}

const DAMAGE_KINDS = new Set(['record', 'gap', 'segment']);

/**
 * The startup check of one group's log, before the replica may vote: recovery (a torn tail
 * is truncated; damage in the tail fails unless repairing) and then a full verification of
 * every record's CRC, so that damage before the last checkpoint (which recovery trusts) is
 * noticed too. Without `repair` any damage is ERR_LOG_CORRUPT; with it, the log is cut at
 * the first entry that does not read back intact.
 */
export async function checkLogAtStartup(dir: string, repair: boolean, log: (line: string) => void = () => {}): Promise<void> {
  if (!existsSync(join(dir, 'raftledger.json'))) return;
  const advice = 'the replica refuses to start with a damaged log; run the server with --repair to truncate it at the damage and re-fetch the rest from the leader';
  try {
    const opened = await SegmentedLog.open({ dir, truncateCorrupt: repair, onNotice: (m) => log(`storage: ${m}`) });
    await opened.close();
  } catch (error) {
    if (isRaftLedgerError(error) && error.code === 'ERR_LOG_CORRUPT' && !repair) {
      throw new RaftLedgerError('ERR_LOG_CORRUPT', `${error.message}; ${advice}`, { cause: error });
    }
    throw error;
  }
  const report = await verifyLog(dir);
  const damage = report.damage.filter((d) => DAMAGE_KINDS.has(d.kind));
  if (damage.length === 0) return;
  const first = damage[0]!;
  if (!repair) {
    throw new RaftLedgerError('ERR_LOG_CORRUPT', `${first.reason} (${first.path} at offset ${first.offset}${first.index !== undefined ? `, index ${first.index}` : ''}); ${advice}`);
  }
  const opened = await SegmentedLog.open({ dir, truncateCorrupt: true });
  try {
    let bad = opened.lastIndex + 1;
    for (let i = opened.firstIndex; i <= opened.lastIndex; i++) {
      try {
        opened.read(i);
      } catch {
        bad = i;
        break;
      }
    }
    if (first.index !== undefined) bad = Math.min(bad, Math.max(first.index, opened.firstIndex));
    if (bad <= opened.lastIndex) {
      log(`repair: ${first.reason} (${first.path} at offset ${first.offset}); truncating the log from index ${bad} (had ${opened.firstIndex}..${opened.lastIndex}), the leader will send the rest`);
      await opened.truncateSuffix(bad);
      await opened.flush();
    }
  } finally {
    await opened.close();
  }
  const again = (await verifyLog(dir)).damage.filter((d) => DAMAGE_KINDS.has(d.kind));
  if (again.length > 0) throw new RaftLedgerError('ERR_LOG_CORRUPT', `repair did not remove the damage: ${again[0]!.reason} (${again[0]!.path} at offset ${again[0]!.offset})`);
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
        await checkLogAtStartup(groupDir(config.dir, group), options.repair === true, (line) => server.#log(`[${config.id}] group ${group}: ${line}`));
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
