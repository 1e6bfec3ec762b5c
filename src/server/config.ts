/**
 * Server configuration: from CLI flags or a JSON file, validated into one shape with
 * clear errors (RaftLedgerError ERR_BAD_CONFIG) that name the offending key.
 *
 * CONFIG_SCHEMA is the one table of known keys: validation, the "did you mean" suggestion
 * for an unknown key, the server's CLI flags (src/cli/config-flags.ts) and the README's
 * Configuration table (checked by test/cli/config.test.ts) all follow from it.
 *
 * Peers are written `id=host:port` (the Raft port; the client port is the Raft port
 * plus clientPortOffset, 100 by default) or `id=host:raftPort/clientPort`.
 */
import { readFileSync } from 'node:fs';
import { RaftLedgerError } from '../errors.js';
import { ID_PATTERN, normalizePeers, type PeerAddresses } from '../replica/peers.js';
import { checkClusterPortPlan } from '../host/placement.js';
import type { Durability } from '../replica/ledger.js';
import type { RetentionPolicy } from '../replica/retention.js';
import { DEFAULT_CLUSTER_ID } from '../replica/group-set.js';
import { DEFAULT_MEMORY_FLUSH_INTERVAL_MS } from '../replica/ledger-types.js';
import { parseHostPort } from '../transport/address.js';
import type { LogLevel } from './logger.js';

function bad(message: string): RaftLedgerError {
  return new RaftLedgerError('ERR_BAD_CONFIG', message);
}

export { parsePeers, type PeerAddresses } from '../replica/peers.js';
import type { ClientLimits } from './client-limits.js';

export interface ServerConfig {
  id: string;
  dir: string;
  peers: Record<string, PeerAddresses>;
  /** Members of `peers` that start as learners (a server joining a running cluster names itself); a stored configuration wins. */
  learners?: string[];
  /** The member each group's leadership moves back to when healthy (replica/preferred-leader.ts): one id, or per group. */
  preferredLeader?: string | Record<number, string>;
  durability: Durability;
  clusterId: string;
  /** Raft groups this server hosts (ids 0..groups-1). */
  groups: number;
  /** Worker threads for the groups (0: all on the main thread). */
  workers: number;
  segmentSizeBytes?: number;
  /** Retention of every group's log, from the retention* keys below (replica/retention.ts). */
  retention?: RetentionPolicy;
  retentionMaxBytes?: number;
  retentionMaxAgeMs?: number;
  retentionMinEntries?: number;
  retentionHoldForFollowersMs?: number;
  /** Free bytes below which writes are refused (--min-free-bytes; default 2 x segment size + 64 MiB). */
  minFreeBytes?: number;
  /** TEST/DIAGNOSTIC: a synthetic application snapshot of this many bytes (--app-snapshot-bytes). */
  appSnapshotBytes?: number;
  /** Bytes of application snapshot per log-start message, one in flight per follower (--snapshot-chunk-bytes; default 1 MiB). */
  snapshotChunkBytes?: number;
  /** Background scrub rate of every group's committed records, repairing damage from peers (--scrub-bytes-per-sec; default 4 MiB/s per group; 0: off). */
  scrubBytesPerSec?: number;
  /** How long a replica with damaged records at start-up keeps trying unreachable peers before it refuses to start (--repair-timeout-ms; default 30000). */
  repairTimeoutMs?: number;
  /** 'memory' mode: how often each group's log is flushed in the background (--memory-flush-ms). */
  memoryFlushIntervalMs?: number;
  tickMs?: number;
  heartbeatTicks?: number;
  electionTicks?: number;
  /** host:port of the HTTP endpoint for /metrics and /health/* (off when absent). */
  metricsAddress?: string;
  /** /health/ready: most entries a follower may be behind the leader's commit (default 10000). */
  readyMaxLagEntries?: number;
  /** Log level (default info). */
  logLevel?: LogLevel;
  /** Client-port limits (ClientListener, client-limits.ts); each listener of the server has its own. */
  clientMaxConnections?: number;
  clientIdleTimeoutMs?: number;
  clientFrameTimeoutMs?: number;
  clientMaxPendingFrameBytes?: number;
  clientMaxPendingBytesTotal?: number;
  clientMaxPendingHandshakes?: number;
  /** TLS (both ports; mutual between peers): PEM files, all three or none. */
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  /** Who may use the client port: none (default), tls (client certificates signed by tlsCa), token (clientTokenFile). */
  clientAuth?: 'none' | 'tls' | 'token';
  clientTokenFile?: string;
}

export type ConfigKeyType = 'id' | 'path' | 'peers' | 'string' | 'choice' | 'integer';

export interface ConfigKey {
  /** The key in a --config JSON file (and in ServerConfig). */
  key: keyof ServerConfig;
  /** The `raftledger server` flag that sets it (without the leading '--'). */
  flag: string;
  type: ConfigKeyType;
  required?: boolean;
  /** integer: inclusive bounds. string: bounds of the length. */
  min?: number;
  max?: number;
  /** choice: the allowed values (the first is the default). */
  choices?: readonly string[];
  /** The default as documented (undefined: required, or no default). */
  default?: string;
  description: string;
}

export const CONFIG_SCHEMA: readonly ConfigKey[] = [
  { key: 'id', flag: 'id', type: 'id', required: true, description: "this server's id (one of the peers): 1-64 letters, digits, '_', '.', '-'" },
  { key: 'peers', flag: 'peers', type: 'peers', required: true, description: "every replica: 'id=host:port[/clientPort],...', or an object { id: 'host:port[/clientPort]' or { raft, client } }" },
  { key: 'dir', flag: 'dir', type: 'path', required: true, description: 'data directory (group g lives in DIR/group-<g>)' },
  { key: 'learners', flag: 'learners', type: 'string', min: 1, max: 10_000, default: 'none', description: "ids of --peers that start as learners, comma-separated: a server joining a running cluster names itself (then add it: raftledger members add ID=ADDR --learner)" },
  { key: 'preferredLeader', flag: 'preferred-leader', type: 'string', min: 1, max: 100_000, default: 'none', description: "the member leadership moves back to once it is healthy and caught up: an id for every group, or 'G=ID,...' per group (to spread the leaders of many groups)" },
  { key: 'durability', flag: 'durability', type: 'choice', choices: ['fsync', 'memory'], default: 'fsync', description: "'fsync': acknowledge after a quorum fsynced; 'memory': after a quorum wrote to the page cache" },
  { key: 'memoryFlushIntervalMs', flag: 'memory-flush-ms', type: 'integer', min: 1, max: 60_000, default: `${DEFAULT_MEMORY_FLUSH_INTERVAL_MS}`, description: "'memory' mode: flush every group's log to disk in the background this often; an acknowledged entry can be lost only if a quorum loses power within about this window" },
  { key: 'clusterId', flag: 'cluster-id', type: 'string', min: 1, max: 200, default: DEFAULT_CLUSTER_ID, description: 'peers of another cluster id are refused at the handshake' },
  { key: 'groups', flag: 'groups', type: 'integer', min: 1, max: 100_000, default: '1', description: 'Raft groups hosted (ids 0..groups-1)' },
  { key: 'workers', flag: 'workers', type: 'integer', min: 0, max: 256, default: '0', description: 'worker threads for the groups (0: all on the main thread); every replica must use the same number' },
  { key: 'segmentSizeBytes', flag: 'segment-size', type: 'integer', min: 4096, max: 2 ** 40, default: '67108864 (64 MiB)', description: 'segment size of new logs; must match on all replicas' },
  { key: 'tickMs', flag: 'tick-ms', type: 'integer', min: 1, max: 1000, default: '10', description: 'Raft tick in milliseconds' },
  { key: 'heartbeatTicks', flag: 'heartbeat-ticks', type: 'integer', min: 1, max: 100_000, default: '5 (50 ms; electionTicks / 4 if only that is given)', description: 'heartbeat interval in ticks' },
  { key: 'electionTicks', flag: 'election-ticks', type: 'integer', min: 2, max: 100_000, default: '20 (200-400 ms; 4 x heartbeatTicks if only that is given)', description: 'base election timeout in ticks (randomized up to 2x)' },
  { key: 'retentionMaxBytes', flag: 'retention-bytes', type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER, default: 'none (keep everything)', description: "delete a group's oldest segments while its log is larger (only below the commit index)" },
  { key: 'retentionMaxAgeMs', flag: 'retention-ms', type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER, default: 'none', description: 'delete segments whose newest entry is older than this (segment file mtime, docs/FORMAT.md)' },
  { key: 'retentionMinEntries', flag: 'retention-min-entries', type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER, default: '0', description: 'retention always keeps at least this many entries' },
  { key: 'retentionHoldForFollowersMs', flag: 'retention-hold-ms', type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER, default: '60000', description: 'the leader keeps what a follower active within this window still needs (0: off)' },
  { key: 'minFreeBytes', flag: 'min-free-bytes', type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER, default: 'auto (2 x segment size + 64 MiB)', description: 'below this many free bytes appends are refused with ERR_NO_SPACE (retriable); 0: never' },
  { key: 'appSnapshotBytes', flag: 'app-snapshot-bytes', type: 'integer', min: 0, max: 2 ** 30, default: '0 (none)', description: 'TEST/DIAGNOSTIC: a leader sends a synthetic application snapshot of this many bytes with each log start; a follower installs it to <group dir>/app-snapshot.bin' },
  { key: 'snapshotChunkBytes', flag: 'snapshot-chunk-bytes', type: 'integer', min: 4096, max: 4 * 1024 * 1024, default: '1048576 (1 MiB)', description: 'bytes of application snapshot per log-start message (one in flight per follower)' },
  { key: 'scrubBytesPerSec', flag: 'scrub-bytes-per-sec', type: 'integer', min: 0, max: 2 ** 40, default: '4194304 (4 MiB/s per group; 0: off)', description: "re-verify every group's committed records at this many bytes per second and repair damage found from peers" },
  { key: 'repairTimeoutMs', flag: 'repair-timeout-ms', type: 'integer', min: 0, max: 2 ** 31 - 1, default: '30000', description: 'a replica with damaged records at start-up keeps asking unreachable peers this long before it refuses to start' },
  { key: 'metricsAddress', flag: 'metrics', type: 'string', min: 1, max: 300, default: 'off', description: 'host:port of the HTTP endpoint for /metrics, /health/live and /health/ready (off when absent)' },
  { key: 'readyMaxLagEntries', flag: 'ready-max-lag', type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER, default: '10000', description: "/health/ready: most entries a follower may trail the leader's commit index" },
  { key: 'logLevel', flag: 'log-level', type: 'choice', choices: ['info', 'trace', 'debug', 'warn', 'error', 'fatal'], default: 'info', description: 'log level of the JSON lines on stdout' },
  { key: 'clientMaxConnections', flag: 'client-max-connections', type: 'integer', min: 1, max: 1_000_000, default: 'auto (a quarter of ulimit -n, 64-4096)', description: 'client connections per client port; one more gets ERR_OVERLOADED and is closed' },
  { key: 'clientIdleTimeoutMs', flag: 'client-idle-timeout-ms', type: 'integer', min: 100, max: 2 ** 31 - 1, default: '300000', description: 'a client connection with nothing in flight this long is closed' },
  { key: 'clientFrameTimeoutMs', flag: 'client-frame-timeout-ms', type: 'integer', min: 100, max: 2 ** 31 - 1, default: '60000', description: 'a request frame still incomplete this long after its first byte closes its connection' },
  { key: 'clientMaxPendingFrameBytes', flag: 'client-max-pending-frame-bytes', type: 'integer', min: 1024, max: 2 ** 40, default: '67109892 (one largest frame)', description: 'bytes of an unfinished request frame per connection; a frame declared bigger is refused from its header' },
  { key: 'tlsCert', flag: 'tls-cert', type: 'path', default: 'off (plaintext)', description: "PEM certificate of this node (TLS on the Raft and client ports; peers must name their node id in it: SAN DNS/URI or CN); reloaded on SIGHUP" },
  { key: 'tlsKey', flag: 'tls-key', type: 'path', default: 'off', description: 'PEM private key of --tls-cert; reloaded on SIGHUP' },
  { key: 'tlsCa', flag: 'tls-ca', type: 'path', default: 'off', description: "PEM CA certificate(s): peers' (and with --client-auth tls, clients') certificates must be signed by it; reloaded on SIGHUP" },
  { key: 'clientAuth', flag: 'client-auth', type: 'choice', choices: ['none', 'tls', 'token'], default: 'none', description: "client port: 'none' anyone, 'tls' clients with a certificate signed by --tls-ca, 'token' clients sending the bearer token of --client-token-file" },
  { key: 'clientTokenFile', flag: 'client-token-file', type: 'path', default: 'none', description: 'file holding the bearer token for --client-auth token (surrounding whitespace ignored); reloaded on SIGHUP' },
  { key: 'clientMaxPendingBytesTotal', flag: 'client-max-pending-bytes-total', type: 'integer', min: 1024, max: 2 ** 40, default: '268435456 (256 MiB)', description: 'bytes of unfinished request frames across a port; the connection that passes it is closed' },
  { key: 'clientMaxPendingHandshakes', flag: 'client-max-pending-handshakes', type: 'integer', min: 1, max: 1_000_000, default: '256', description: 'client connections still in their TLS handshake or awaiting their auth frame, per port; one more is closed on accept' },
];

const SCHEMA_BY_KEY = new Map(CONFIG_SCHEMA.map((k) => [k.key as string, k]));

/** Levenshtein distance (insert, delete, substitute: 1 each). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Case and '-'/'_' do not count: 'segment-size', 'Segment_Size' and 'segmentsize' are one spelling. */
function fold(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

/**
 * The known key closest to `unknown` (by edit distance to the key or to its flag, after
 * folding case and '-'/'_'), or undefined when none is close enough to be a likely typo.
 */
export function closestConfigKey(unknown: string): ConfigKey | undefined {
  let best: ConfigKey | undefined;
  let bestDistance = Infinity;
  const u = fold(unknown);
  for (const entry of CONFIG_SCHEMA) {
    for (const name of [entry.key, entry.flag]) {
      const n = fold(name);
      const d = n.startsWith(u) || u.startsWith(n) ? Math.min(1, Math.abs(n.length - u.length)) : editDistance(u, n);
      if (d < bestDistance) {
        bestDistance = d;
        best = entry;
      }
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(u.length / 3)) ? best : undefined;
}

function unknownKey(key: string): RaftLedgerError {
  const near = closestConfigKey(key);
  const hint = near !== undefined ? `did you mean '${near.key}' (flag --${near.flag})?` : `known keys: ${CONFIG_SCHEMA.map((k) => k.key).join(', ')}`;
  return bad(`unknown config key '${key}': ${hint}`);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return JSON.stringify(value) ?? typeof value;
}

/** One key's value checked against its schema entry (undefined: absent). */
function checkValue(entry: ConfigKey, value: unknown): unknown {
  const name = entry.key;
  switch (entry.type) {
    case 'id':
      if (typeof value !== 'string' || !ID_PATTERN.test(value)) throw bad(`${name} must be 1-64 characters of letters, digits, '_', '.', '-', got ${describe(value)}`);
      return value;
    case 'path':
      if (typeof value !== 'string' || value === '') throw bad(`${name} must be a non-empty path, got ${describe(value)}`);
      return value;
    case 'string':
      if (typeof value !== 'string' || value.length < (entry.min ?? 0) || value.length > (entry.max ?? Infinity)) {
        throw bad(`${name} must be a string of ${entry.min ?? 0}-${entry.max} characters, got ${describe(value)}`);
      }
      return value;
    case 'choice':
      if (typeof value !== 'string' || !entry.choices!.includes(value)) throw bad(`${name} must be ${entry.choices!.map((c) => `'${c}'`).join(' or ')}, got ${describe(value)}`);
      return value;
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < entry.min! || value > entry.max!) {
        throw bad(`${name} must be an integer in [${entry.min}, ${entry.max}], got ${describe(value)}`);
      }
      return value;
    case 'peers':
      return normalizePeers(value);
  }
}

/** Validate a config object (from a file or assembled from flags). */
const RETENTION_KEYS = [
  ['retentionMaxBytes', 'maxBytes'],
  ['retentionMaxAgeMs', 'maxAgeMs'],
  ['retentionMinEntries', 'minEntries'],
  ['retentionHoldForFollowersMs', 'holdForFollowersMs'],
] as const;

const INTEGER_KEYS = [
  'segmentSizeBytes',
  'tickMs',
  'heartbeatTicks',
  'electionTicks',
  'clientMaxConnections',
  'clientIdleTimeoutMs',
  'clientFrameTimeoutMs',
  'clientMaxPendingFrameBytes',
  'clientMaxPendingBytesTotal',
  'readyMaxLagEntries',
  'retentionMaxBytes',
  'retentionMaxAgeMs',
  'retentionMinEntries',
  'retentionHoldForFollowersMs',
  'minFreeBytes',
  'appSnapshotBytes',
  'snapshotChunkBytes',
  'scrubBytesPerSec',
  'repairTimeoutMs',
  'memoryFlushIntervalMs',
] as const;

/** The ClientListener limits a config sets (the rest keep their defaults, client-limits.ts). */
export function clientLimitsOf(config: ServerConfig): Partial<ClientLimits> {
  const limits: Partial<ClientLimits> = {};
  if (config.clientMaxConnections !== undefined) limits.maxConnections = config.clientMaxConnections;
  if (config.clientIdleTimeoutMs !== undefined) limits.idleTimeoutMs = config.clientIdleTimeoutMs;
  if (config.clientFrameTimeoutMs !== undefined) limits.frameTimeoutMs = config.clientFrameTimeoutMs;
  if (config.clientMaxPendingFrameBytes !== undefined) limits.maxPendingFrameBytesPerConnection = config.clientMaxPendingFrameBytes;
  if (config.clientMaxPendingBytesTotal !== undefined) limits.maxPendingFrameBytesTotal = config.clientMaxPendingBytesTotal;
  if (config.clientMaxPendingHandshakes !== undefined) limits.maxPendingHandshakes = config.clientMaxPendingHandshakes;
  return limits;
}

/**
 * The keys a valid config sets that its other settings make moot, each with the reason: the
 * server starts anyway (a config file switched from 'memory' to 'fsync' keeps working) and
 * logs a `config-ignored` warning per key.
 */
export function ignoredConfigKeys(config: ServerConfig): Array<{ key: keyof ServerConfig; why: string }> {
  const ignored: Array<{ key: keyof ServerConfig; why: string }> = [];
  if (config.memoryFlushIntervalMs !== undefined && config.durability !== 'memory') {
    ignored.push({ key: 'memoryFlushIntervalMs', why: `it sets 'memory' mode's background flush, and durability is '${config.durability}' (every acknowledged entry is fsynced first)` });
  }
  return ignored;
}

export function validateConfig(input: unknown): ServerConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw bad(`configuration must be a JSON object, got ${describe(input)}`);
  const c = input as Record<string, unknown>;
  for (const key of Object.keys(c)) if (!SCHEMA_BY_KEY.has(key)) throw unknownKey(key);
  const values: Record<string, unknown> = {};
  for (const entry of CONFIG_SCHEMA) {
    const value = c[entry.key];
    if (value === undefined) {
      if (entry.required === true) throw bad(`${entry.key} is required (flag --${entry.flag})`);
      continue;
    }
    values[entry.key] = checkValue(entry, value);
  }
  const peers = values.peers as Record<string, PeerAddresses>;
  const id = values.id as string;
  if (peers[id] === undefined) throw bad(`peers does not include this server's id '${id}' (peers: ${Object.keys(peers).join(', ')})`);
  const config: ServerConfig = {
    id,
    dir: values.dir as string,
    peers,
    durability: (values.durability as Durability | undefined) ?? 'fsync',
    clusterId: (values.clusterId as string | undefined) ?? DEFAULT_CLUSTER_ID,
    groups: (values.groups as number | undefined) ?? 1,
    workers: (values.workers as number | undefined) ?? 0,
  };
  for (const key of INTEGER_KEYS) {
    if (values[key] !== undefined) config[key] = values[key] as number;
  }
  if (values.preferredLeader !== undefined) config.preferredLeader = parsePreferredLeader(String(values.preferredLeader));
  if (values.learners !== undefined) {
    const learners = String(values.learners).split(',').map((x) => x.trim()).filter((x) => x !== '');
    for (const l of learners) if (peers[l] === undefined) throw bad(`learners: '${l}' is not one of the peers (${Object.keys(peers).join(', ')})`);
    if (learners.length >= Object.keys(peers).length) throw bad('learners: at least one of the peers must be a voter');
    config.learners = learners;
  }
  if (values.metricsAddress !== undefined) {
    try {
      parseHostPort(values.metricsAddress as string);
    } catch (error) {
      throw bad(`metricsAddress: ${(error as Error).message}`);
    }
    config.metricsAddress = values.metricsAddress as string;
  }
  const retention: RetentionPolicy = {};
  for (const [key, field] of RETENTION_KEYS) if (values[key] !== undefined) retention[field] = values[key] as number;
  if (Object.keys(retention).length > 0) config.retention = retention;
  if (values.logLevel !== undefined) config.logLevel = values.logLevel as LogLevel;
  checkSecurity(values, config);
  try {
    checkClusterPortPlan(peers, config.workers, true);
  } catch (error) {
    throw bad(`peers: ${(error as Error).message}`);
  }
  return config;
}

/** The TLS and client-auth keys: all three TLS files or none; clientAuth tls needs TLS, token needs a token file. */
function checkSecurity(values: Record<string, unknown>, config: ServerConfig): void {
  const tlsKeys = ['tlsCert', 'tlsKey', 'tlsCa'] as const;
  const given = tlsKeys.filter((k) => values[k] !== undefined);
  if (given.length > 0 && given.length < 3) {
    throw bad(`TLS needs tlsCert, tlsKey and tlsCa together (flags --tls-cert, --tls-key, --tls-ca); missing: ${tlsKeys.filter((k) => values[k] === undefined).join(', ')}`);
  }
  for (const k of given) config[k] = values[k] as string;
  const auth = values.clientAuth as ServerConfig['clientAuth'] | undefined;
  if (auth === 'tls' && given.length === 0) throw bad("clientAuth 'tls' needs TLS (tlsCert, tlsKey, tlsCa)");
  if (auth === 'token' && values.clientTokenFile === undefined) throw bad("clientAuth 'token' needs clientTokenFile (flag --client-token-file)");
  if (values.clientTokenFile !== undefined && auth !== 'token') throw bad("clientTokenFile is set but clientAuth is not 'token'");
  if (auth !== undefined) config.clientAuth = auth;
  if (values.clientTokenFile !== undefined) config.clientTokenFile = values.clientTokenFile as string;
}

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw bad(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw bad(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw bad(`config file ${path} must hold a JSON object, got ${describe(parsed)}`);
  return parsed as Record<string, unknown>;
}

/** --preferred-leader: 'ID' (every group) or 'G=ID,G=ID,...'. */
function parsePreferredLeader(text: string): string | Record<number, string> {
  if (!text.includes('=')) {
    if (!ID_PATTERN.test(text)) throw bad(`preferredLeader must be a member id or 'G=ID,...', got ${describe(text)}`);
    return text;
  }
  const out: Record<number, string> = {};
  for (const part of text.split(',')) {
    const [g, id, ...rest] = part.split('=');
    const group = Number(g);
    if (rest.length > 0 || !Number.isSafeInteger(group) || group < 0 || g!.trim() === '' || id === undefined || !ID_PATTERN.test(id)) {
      throw bad(`preferredLeader: '${part}' is not G=ID (a group number and a member id)`);
    }
    if (out[group] !== undefined) throw bad(`preferredLeader: group ${group} is given twice`);
    out[group] = id;
  }
  return out;
}
