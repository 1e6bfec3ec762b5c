/** Ledger.status() assembled from the replica's pieces (a pure function of what it is given). */
import type { RaftStatus } from '../raft/index.js';
import type { SegmentedLog } from '../storage/index.js';
import type { LedgerStatsSnapshot } from './ledger-stats.js';
import type { RepairStatus } from './self-repair.js';
import type { Durability, FollowerStatus, LedgerStatus, RaftLink } from './ledger-types.js';
import type { MembersView } from './membership.js';

export interface StatusParts {
  id: string;
  group: number;
  durability: Durability;
  /** The core's status (taken first, before everything else is read). */
  raft: RaftStatus;
  log: SegmentedLog;
  clientAddresses: Readonly<Record<string, string>>;
  commitIndex: number;
  durableIndex: number;
  pendingAppends: number;
  space: { readonly freeBytes: number; readonly low: boolean };
  /** Called once, after the log's figures are read. */
  stats: () => LedgerStatsSnapshot;
  link: RaftLink;
  members: MembersView;
  repair?: RepairStatus;
}

export function ledgerStatus(p: StatusParts): LedgerStatus {
  const s = p.raft;
  const log = p.log;
  const followers: Record<string, FollowerStatus> = {};
  for (const [id, f0] of Object.entries(s.progress)) {
    if (id === p.id) continue;
    const lag = Math.max(0, log.lastIndex - f0.match);
    const f: FollowerStatus = { match: f0.match, next: f0.next, state: f0.state, lag, active: f0.recentActive };
    if (lag === 0) f.lagBytes = 0;
    else if (f0.match + 1 >= log.firstIndex) f.lagBytes = Math.max(0, log.writePos - log.posOf(f0.match + 1));
    if (f0.state === 'reset') f.catchUp = 'reset';
    else if (f0.state === 'catchUp') f.catchUp = 'stranded';
    if (f0.reset !== undefined) f.reset = f0.reset;
    followers[id] = f;
  }
  const leaderAddress = s.leader === '' ? undefined : p.clientAddresses[s.leader];
  return {
    id: p.id,
    group: p.group,
    role: s.role,
    term: s.term,
    leader: s.leader,
    ...(leaderAddress !== undefined ? { leaderAddress } : {}),
    firstIndex: log.firstIndex,
    firstPos: log.firstPos,
    lastIndex: log.lastIndex,
    commitIndex: p.commitIndex,
    durableIndex: p.durableIndex,
    durability: p.durability,
    pendingAppends: p.pendingAppends,
    diskBytes: log.diskBytes,
    logBytes: log.sizeBytes,
    freeBytes: p.space.freeBytes,
    noSpace: p.space.low,
    followers,
    stats: p.stats(),
    ...(p.link.transportStats !== undefined ? { transport: p.link.transportStats() } : {}),
    members: p.members,
    ...(p.repair !== undefined ? { repair: p.repair } : {}),
  };
}
