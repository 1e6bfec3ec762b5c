/**
 * The core's side of membership change (docs/RAFT.md, "Membership change"):
 * the configuration a node starts with, and the hand-over of a leader that
 * removed itself. Kept out of raft.ts, which only hooks these in.
 */
import type { RaftConfig } from './config.js';
import { Membership, memberIds } from './conf-change.js';
import type { Replication } from './replication.js';
import type { NodeId } from './types.js';

const SCAN_BATCH_BYTES = 1 << 20;

/**
 * The bootstrap configuration (RaftConfig.peers and learners, addresses ''),
 * or RaftConfig.configuration, overridden (with recoverConfig) by the Config
 * entries of the log the storage holds after configurationIndex (read once at
 * start; committed ones are folded into the base).
 */
export function bootstrapMembership(cfg: RaftConfig): Membership {
  const m = new Membership({
    voters: cfg.peers.map((id) => ({ id, address: '' })),
    learners: (cfg.learners ?? []).map((id) => ({ id, address: '' })),
  });
  if (cfg.configuration !== undefined) m.rebase(cfg.configuration);
  if (cfg.recoverConfig !== true) return m;
  const storage = cfg.storage;
  const last = storage.lastIndex();
  let lo = Math.max(storage.firstIndex(), (cfg.configuration !== undefined ? (cfg.configurationIndex ?? 0) : 0) + 1);
  while (lo <= last) {
    const ents = storage.entries(lo, last + 1, SCAN_BATCH_BYTES);
    if (ents.length === 0) break;
    m.appended(ents, 0);
    lo = (ents[ents.length - 1] as { index: number }).index + 1;
  }
  m.compactTo(Math.min(storage.hardState().commit, last));
  return m;
}

/**
 * A leader whose removal committed hands over before it steps down: the most
 * caught-up voter that holds the whole log is told to campaign at once.
 */
export function stepDownRemovedLeader(repl: Replication, lastIndex: number, voters: readonly NodeId[], sendTimeoutNow: (to: NodeId) => void): void {
  for (const pr of repl.list) {
    if (voters.includes(pr.id) && pr.confirmedMatch() === lastIndex) {
      sendTimeoutNow(pr.id);
      return;
    }
  }
}

/**
 * Whom this node replicates to (as leader) and accepts messages from: every
 * member of the configuration in force but itself, plus, while the newest
 * Config entry is uncommitted, the members it removed (`lingering`), so that a
 * removed node receives its removal and stops campaigning. They never count.
 */
export function replicaSet(m: Membership, committed: number, self: NodeId): { ids: NodeId[]; lingering: boolean } {
  const ids = memberIds(m.current).filter((p) => p !== self);
  let lingering = false;
  const prev = m.previous;
  if (prev !== null && m.pendingIndex > committed) {
    for (const p of memberIds(prev)) {
      if (p !== self && !ids.includes(p)) {
        ids.push(p);
        lingering = true;
      }
    }
  }
  return { ids, lingering };
}
