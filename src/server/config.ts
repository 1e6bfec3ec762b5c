/**
 * Server configuration: from CLI flags or a JSON file, validated into one shape with
 * clear errors (RaftLedgerError ERR_BAD_CONFIG) that name the offending field.
 *
 * Peers are written `id=host:port` (the Raft port; the client port is the Raft port
 * plus clientPortOffset, 100 by default) or `id=host:raftPort/clientPort`.
 */
import { readFileSync } from 'node:fs';
import { RaftLedgerError } from '../errors.js';
import { ID_PATTERN, normalizePeers, type PeerAddresses } from '../replica/peers.js';
import type { Durability } from '../replica/ledger.js';
import type { RetentionPolicy } from '../replica/retention.js';
import { DEFAULT_CLUSTER_ID } from '../replica/group-set.js';

function bad(message: string): RaftLedgerError {
  return new RaftLedgerError('ERR_BAD_CONFIG', message);
}

export { parsePeers, type PeerAddresses } from '../replica/peers.js';

export interface ServerConfig {
  id: string;
  dir: string;
  peers: Record<string, PeerAddresses>;
  durability: Durability;
  clusterId: string;
  /** Raft groups this server hosts (ids 0..groups-1). */
  groups: number;
  /** Worker threads for the groups (0: all on the main thread). */
  workers: number;
  segmentSizeBytes?: number;
  /** Retention of every group's log (--retention-bytes, --retention-ms, --retention-min-entries). */
  retention?: RetentionPolicy;
  /** Free bytes below which writes are refused (--min-free-bytes; default 2 x segment size + 64 MiB). */
  minFreeBytes?: number;
  tickMs?: number;
  heartbeatTicks?: number;
  electionTicks?: number;
}

/** Validate a config object (from a file or assembled from flags). */
export function validateConfig(input: unknown): ServerConfig {
  if (input === null || typeof input !== 'object') throw bad('configuration must be a JSON object');
  const c = input as Record<string, unknown>;
  if (typeof c.id !== 'string' || !ID_PATTERN.test(c.id)) throw bad(`id must be 1-64 characters of letters, digits, '_', '.', '-', got ${JSON.stringify(c.id)}`);
  if (typeof c.dir !== 'string' || c.dir === '') throw bad('dir must be a non-empty path');
  const peers = normalizePeers(c.peers);
  if (peers[c.id] === undefined) throw bad(`peers does not include this server's id '${c.id}'`);
  const durability = c.durability ?? 'fsync';
  if (durability !== 'fsync' && durability !== 'memory') throw bad(`durability must be 'fsync' or 'memory', got ${JSON.stringify(durability)}`);
  const clusterId = c.clusterId ?? DEFAULT_CLUSTER_ID;
  if (typeof clusterId !== 'string' || clusterId === '' || clusterId.length > 200) throw bad('clusterId must be a non-empty string');
  const int = (name: string, min: number, max: number): number | undefined => {
    const v = c[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw bad(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
    return v;
  };
  const config: ServerConfig = {
    id: c.id,
    dir: c.dir,
    peers,
    durability,
    clusterId,
    groups: int('groups', 1, 100_000) ?? 1,
    workers: int('workers', 0, 256) ?? 0,
  };
  const segmentSizeBytes = int('segmentSizeBytes', 4096, 2 ** 40);
  if (segmentSizeBytes !== undefined) config.segmentSizeBytes = segmentSizeBytes;
  const minFreeBytes = int('minFreeBytes', 0, 2 ** 53 - 1);
  if (minFreeBytes !== undefined) config.minFreeBytes = minFreeBytes;
  if (c.retention !== undefined) {
    if (c.retention === null || typeof c.retention !== 'object') throw bad('retention must be an object { maxBytes?, maxAgeMs?, minEntries?, holdForFollowersMs? }');
    const r = c.retention as Record<string, unknown>;
    const retention: RetentionPolicy = {};
    for (const key of ['maxBytes', 'maxAgeMs', 'minEntries', 'holdForFollowersMs'] as const) {
      const v = r[key];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`retention.${key} must be an integer >= 0, got ${JSON.stringify(v)}`);
      retention[key] = v;
    }
    for (const key of Object.keys(r)) if (!['maxBytes', 'maxAgeMs', 'minEntries', 'holdForFollowersMs'].includes(key)) throw bad(`retention has an unknown field '${key}'`);
    config.retention = retention;
  }
  const tickMs = int('tickMs', 1, 1000);
  if (tickMs !== undefined) config.tickMs = tickMs;
  const heartbeatTicks = int('heartbeatTicks', 1, 100_000);
  if (heartbeatTicks !== undefined) config.heartbeatTicks = heartbeatTicks;
  const electionTicks = int('electionTicks', 2, 100_000);
  if (electionTicks !== undefined) config.electionTicks = electionTicks;
  return config;
}

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw bad(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw bad(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
}
