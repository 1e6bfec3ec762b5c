/**
 * Readiness of one server (/health/ready): every group this replica hosts has a known
 * leader and this replica is within `maxLagEntries` of it.
 *
 *  - leader: ready while it leads (an isolated leader steps down after one election
 *    timeout without a quorum, Raft's check-quorum, and so stops being ready);
 *  - follower: ready when it heard from a leader (AppendEntries or heartbeat) within
 *    `leaderContactMaxMs` (the server uses 2 election timeouts) and the leader's commit
 *    index it last received in an AppendEntries (which carry the leader's full commit
 *    index) is at most `maxLagEntries` above its own commit index. Heartbeats carry
 *    min(leader commit, follower match), so between AppendEntries the follower's view of
 *    the leader's commit can be behind by the entries appended since: the lag is a lower
 *    bound, refreshed with every AppendEntries;
 *  - a group without status (its worker is restarting) is not ready.
 */
import type { HostStatus } from '../host/ledger-host.js';

export interface ReadyOptions {
  maxLagEntries: number;
  leaderContactMaxMs: number;
}

export interface GroupReadiness {
  group: number;
  ready: boolean;
  role?: string;
  term?: number;
  leader?: string;
  lagEntries?: number;
  reason?: string;
}

export interface ReadyVerdict {
  ready: boolean;
  /** One line per group that is not ready. */
  reasons: string[];
  groups: GroupReadiness[];
}

export function readiness(status: HostStatus, groups: readonly number[], options: ReadyOptions): ReadyVerdict {
  const byGroup = new Map(status.groups.map((g) => [g.group, g]));
  const out: GroupReadiness[] = [];
  for (const group of groups) {
    const s = byGroup.get(group);
    if (s === undefined) {
      out.push({ group, ready: false, reason: 'no status (its worker is not serving)' });
      continue;
    }
    const base = { group, role: s.role, term: s.term, leader: s.leader };
    if (s.role === 'leader') {
      out.push({ ...base, ready: true, lagEntries: 0 });
      continue;
    }
    if (s.leader === '') {
      out.push({ ...base, ready: false, reason: `no known leader in term ${s.term}` });
      continue;
    }
    const contactMs = s.stats.msSinceLeaderContact;
    if (contactMs < 0 || contactMs > options.leaderContactMaxMs) {
      out.push({ ...base, ready: false, reason: contactMs < 0 ? `no message from leader ${s.leader} yet` : `no message from leader ${s.leader} for ${contactMs} ms (limit ${options.leaderContactMaxMs} ms)` });
      continue;
    }
    const lagEntries = Math.max(0, s.stats.leaderCommit - s.commitIndex);
    if (lagEntries > options.maxLagEntries) {
      out.push({ ...base, ready: false, lagEntries, reason: `${lagEntries} entries behind the leader's commit index ${s.stats.leaderCommit} (limit ${options.maxLagEntries})` });
      continue;
    }
    out.push({ ...base, ready: true, lagEntries });
  }
  const reasons = out.filter((g) => !g.ready).map((g) => `group ${g.group}: ${g.reason ?? 'not ready'}`);
  return { ready: reasons.length === 0, reasons, groups: out };
}
