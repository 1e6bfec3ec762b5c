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
import { parseHostPort } from '../transport/address.js';
import { ClientListener } from './client-listener.js';
import type { Ledger } from './ledger.js';
import { GroupSet, groupDir } from './group-set.js';
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
