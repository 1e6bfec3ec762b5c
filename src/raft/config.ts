/** RaftConfig: the core's configuration, its defaults and its validation. */
import type { Rng } from './prng.js';
import type { LogStorage } from './storage.js';
import type { AppSnapshot, NodeId } from './types.js';

/** Tick length the defaults are designed for (the driver calls tick() every tickMs). */
export const DEFAULT_TICK_MS = 10;
export const DEFAULT_HEARTBEAT_TICKS = 10;
export const DEFAULT_ELECTION_TICKS = 50;

export interface RaftConfig {
  /** This node's id (a non-empty string, one of `peers`). */
  id: NodeId;
  /** The bootstrap voters (including `id` unless it is in `learners`); a Config entry in the log wins over it. */
  peers: readonly NodeId[];
  /** The bootstrap learners (docs/RAFT.md, "Membership change"). Default none. */
  learners?: readonly NodeId[];
  /**
   * The configuration persisted with the last log reset (LogReset.conf, a
   * Config entry body) or by the driver; wins over peers/learners. Config entries in the log win over it.
   */
  configuration?: Uint8Array;
  /**
   * With `configuration`: the index it is in force at (every Config entry at or
   * below it is older). recoverConfig reads only the entries after it. Default 0.
   */
  configurationIndex?: number;
  /**
   * Read the Config entries of the log storage holds at start (one pass over
   * the retained log; docs/RAFT.md, "Membership change"). A driver whose log may
   * hold Config entries (one that uses proposeConfChange) must set it. Default false.
   */
  recoverConfig?: boolean;
  /** Leader: the most entries a learner may be behind and still be promoted. Default 1000. */
  maxPromoteLagEntries?: number;
  /** The driver's log. */
  storage: LogStorage;
  /** Seeded random source for election jitter; default mulberry32(seed). */
  rng?: Rng;
  /** Seed for the default rng; default derived from `id`. */
  seed?: number;
  /** Leader heartbeat interval in ticks. Default 10 (100 ms at 10 ms/tick). */
  heartbeatTicks?: number;
  /** Base election timeout in ticks; the actual one is random in [e, 2e). Default 50 (500..1000 ms). */
  electionTicks?: number;
  /** Max entries per append message. Default 512. */
  maxEntriesPerMessage?: number;
  /** Max bytes (data + 48 per entry) per append message (at least one entry is sent). Default 1 MiB. */
  maxBytesPerMessage?: number;
  /** Max append messages in flight per follower in replicate state. Default 64. */
  maxInflightMessages?: number;
  /** Pre-vote (default true). */
  preVote?: boolean;
  /** Check-quorum and leader lease (default true). */
  checkQuorum?: boolean;
  /** Index already applied by the application at start; default: the recovered commit index. */
  applied?: number;
  /**
   * This node's log epoch, stated in its append and heartbeat answers. The driver
   * must make it larger than every epoch this node used before whenever the log
   * may have lost entries it had acknowledged (a restart after a power loss in
   * memory mode, a repaired segment, a wiped directory); increasing it on every
   * start is always correct (docs/RAFT.md, "Log epochs"). Default 0.
   */
  logEpoch?: number;
  /**
   * Leader: the application snapshot sent with a log start (docs/RAFT.md, "Log
   * start"), asked for when a reset of a follower begins; null or absent: none
   * (an empty one is sent). Must not call back into the core.
   */
  appSnapshot?: () => AppSnapshot | null;
  /** Bytes of application snapshot per logStart message (one in flight per follower). Default 1 MiB. */
  snapshotChunkBytes?: number;
}

/** Resolved settings (defaults applied). */
export interface Settings {
  heartbeatTicks: number;
  electionTicks: number;
  maxEntriesPerMessage: number;
  maxBytesPerMessage: number;
  maxInflightMessages: number;
  preVote: boolean;
  checkQuorum: boolean;
  snapshotChunkBytes: number;
  maxPromoteLagEntries: number;
}


function positiveInt(cfg: RaftConfig, key: keyof RaftConfig, dflt: number): number {
  const v = cfg[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`raft config: ${key} must be a positive integer, got ${String(v)}`);
  }
  return v;
}

/** FNV-1a of a node id: the default election-jitter seed. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Validates a config and returns the resolved settings; throws RangeError/TypeError. */
export function resolveConfig(cfg: RaftConfig): Settings {
  if (cfg === null || typeof cfg !== 'object') throw new TypeError('raft config: must be an object');
  if (typeof cfg.id !== 'string' || cfg.id.length === 0) {
    throw new RangeError('raft config: id must be a non-empty string');
  }
  if (!Array.isArray(cfg.peers) || cfg.peers.length === 0) {
    throw new RangeError('raft config: peers must be a non-empty array of node ids');
  }
  const seen = new Set<string>();
  for (const p of cfg.peers) {
    if (typeof p !== 'string' || p.length === 0) throw new RangeError('raft config: peer ids must be non-empty strings');
    if (seen.has(p)) throw new RangeError(`raft config: duplicate peer id ${JSON.stringify(p)}`);
    seen.add(p);
  }
  if (cfg.learners !== undefined && !Array.isArray(cfg.learners)) throw new RangeError('raft config: learners must be an array of node ids');
  for (const p of cfg.learners ?? []) {
    if (typeof p !== 'string' || p.length === 0) throw new RangeError('raft config: learner ids must be non-empty strings');
    if (seen.has(p)) throw new RangeError(`raft config: duplicate member id ${JSON.stringify(p)}`);
    seen.add(p);
  }
  if (!seen.has(cfg.id)) throw new RangeError(`raft config: id ${JSON.stringify(cfg.id)} is not in peers or learners`);
  if (cfg.storage === null || typeof cfg.storage !== 'object') throw new TypeError('raft config: storage is required');
  const s: Settings = {
    heartbeatTicks: positiveInt(cfg, 'heartbeatTicks', DEFAULT_HEARTBEAT_TICKS),
    electionTicks: positiveInt(cfg, 'electionTicks', DEFAULT_ELECTION_TICKS),
    maxEntriesPerMessage: positiveInt(cfg, 'maxEntriesPerMessage', 512),
    maxBytesPerMessage: positiveInt(cfg, 'maxBytesPerMessage', 1 << 20),
    maxInflightMessages: positiveInt(cfg, 'maxInflightMessages', 64),
    preVote: cfg.preVote ?? true,
    checkQuorum: cfg.checkQuorum ?? true,
    snapshotChunkBytes: positiveInt(cfg, 'snapshotChunkBytes', 1 << 20),
    maxPromoteLagEntries: cfg.maxPromoteLagEntries === 0 ? 0 : positiveInt(cfg, 'maxPromoteLagEntries', 1000),
  };
  if (s.electionTicks <= s.heartbeatTicks) {
    throw new RangeError(
      `raft config: electionTicks (${s.electionTicks}) must be greater than heartbeatTicks (${s.heartbeatTicks})`,
    );
  }
  if (cfg.rng !== undefined && typeof cfg.rng !== 'function') throw new TypeError('raft config: rng must be a function');
  if (cfg.applied !== undefined && (!Number.isInteger(cfg.applied) || cfg.applied < 0)) {
    throw new RangeError(`raft config: applied must be a non-negative integer, got ${String(cfg.applied)}`);
  }
  if (cfg.configurationIndex !== undefined && (!Number.isSafeInteger(cfg.configurationIndex) || cfg.configurationIndex < 0)) {
    throw new RangeError(`raft config: configurationIndex must be a non-negative safe integer, got ${String(cfg.configurationIndex)}`);
  }
  if (cfg.logEpoch !== undefined && (!Number.isSafeInteger(cfg.logEpoch) || cfg.logEpoch < 0)) {
    throw new RangeError(`raft config: logEpoch must be a non-negative safe integer, got ${String(cfg.logEpoch)}`);
  }
  if (cfg.appSnapshot !== undefined && typeof cfg.appSnapshot !== 'function') {
    throw new TypeError('raft config: appSnapshot must be a function');
  }
  return s;
}
