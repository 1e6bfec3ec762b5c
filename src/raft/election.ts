/**
 * Election bookkeeping of the core (§5.2, pre-vote §9.6): the votes a (pre-)candidate has
 * heard, the tally against the quorum, and whether this node may grant a vote.
 */
import type { RaftLog } from './log.js';
import { NONE, type NodeId, type VoteMessage, type VoteResponseMessage } from './types.js';

export type Tally = 'won' | 'lost' | 'pending';

/** The answers of one (pre-)campaign: the first answer of each voter counts; answers of non-voters (learners) never do. */
export class Votes {
  readonly #votes = new Map<NodeId, boolean>();
  #voters: ReadonlySet<NodeId>;
  #quorum: number;
  #voterCount: number;

  constructor(voters: readonly NodeId[]) {
    this.#voters = new Set(voters);
    this.#quorum = Math.floor(voters.length / 2) + 1;
    this.#voterCount = voters.length;
  }

  /** The configuration changed (docs/RAFT.md, "Membership change"): count over these voters from now on. */
  setVoters(voters: readonly NodeId[]): void {
    this.#voters = new Set(voters);
    this.#quorum = Math.floor(voters.length / 2) + 1;
    this.#voterCount = voters.length;
  }

  clear(): void {
    this.#votes.clear();
  }

  /** This node's own vote for itself (replaces any earlier answer). */
  voteForSelf(id: NodeId): void {
    this.#votes.set(id, true);
  }

  /** A voter's answer; later answers of the same voter are ignored. */
  record(from: NodeId, granted: boolean): void {
    if (!this.#votes.has(from)) this.#votes.set(from, granted);
  }

  tally(): Tally {
    let granted = 0;
    let rejected = 0;
    for (const [id, v] of this.#votes) {
      if (!this.#voters.has(id)) continue;
      if (v) granted++;
      else rejected++;
    }
    if (granted >= this.#quorum) return 'won';
    if (rejected > this.#voterCount - this.#quorum) return 'lost';
    return 'pending';
  }
}

/**
 * Whether a (pre-)vote request may be granted: this node has not voted for another
 * candidate in the term and knows no leader (a pre-vote for a later term is always
 * considered), and the candidate's log is at least as up to date as this one's.
 */
export function mayGrantVote(m: VoteMessage, vote: NodeId, lead: NodeId, term: number, log: RaftLog): boolean {
  const pre = m.type === 'preVote';
  const canVote = vote === m.from || (vote === NONE && lead === NONE) || (pre && m.term > term);
  return canVote && log.isUpToDate(m.lastIndex, m.lastTerm);
}

/** A (pre-)candidate's requests to `to`; a real vote request waits for this node's own vote to be durable. */
export function voteRequests(type: 'vote' | 'preVote', from: NodeId, to: readonly NodeId[], term: number, log: RaftLog, transfer: boolean): VoteMessage[] {
  const lastIndex = log.lastIndex();
  const lastTerm = log.lastTerm();
  return to.map((p) => {
    const m: VoteMessage = { type, from, to: p, term, lastIndex, lastTerm, transfer };
    // Our own vote must be durable before anyone can grant us theirs.
    if (type === 'vote') m.waitForHardState = true;
    return m;
  });
}

/** A (pre-)vote answer from `from`. */
export function voteResp(type: 'voteResp' | 'preVoteResp', from: NodeId, to: NodeId, term: number, reject: boolean): VoteResponseMessage {
  return { type, from, to, term, reject };
}

/**
 * This node's answer to a (pre-)vote request (mayGrantVote). A granted real vote
 * is tagged waitForHardState (it must be on disk before it is counted); the
 * caller records the vote. A granted pre-vote carries the term asked for.
 */
export function answerVote(m: VoteMessage, id: NodeId, vote: NodeId, lead: NodeId, term: number, log: RaftLog): VoteResponseMessage {
  const pre = m.type === 'preVote';
  const type = pre ? 'preVoteResp' : 'voteResp';
  if (!mayGrantVote(m, vote, lead, term, log)) return voteResp(type, id, m.from, term, true);
  const r = voteResp(type, id, m.from, pre ? m.term : term, false);
  if (!pre) r.waitForHardState = true;
  return r;
}
