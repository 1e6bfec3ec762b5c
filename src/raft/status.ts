import type { NodeId, RaftStatus, Role } from './types.js';

/** The core's accessors that a status reports (RaftCore). */
export interface StatusCore {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly durableIndex: number;
  readonly firstIndex: number;
  readonly leadTransferee: NodeId;
}

/** A snapshot of the core's state; `progress` is the leader's view of each follower ({} on other roles). */
export function raftStatus(core: StatusCore, progress: RaftStatus['progress']): RaftStatus {
  return {
    id: core.id,
    role: core.role,
    term: core.term,
    vote: core.vote,
    leader: core.leader,
    commitIndex: core.commitIndex,
    appliedIndex: core.appliedIndex,
    lastIndex: core.lastIndex,
    durableIndex: core.durableIndex,
    firstIndex: core.firstIndex,
    transferee: core.leadTransferee,
    progress,
  };
}
