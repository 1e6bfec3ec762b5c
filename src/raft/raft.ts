import { hashString, resolveConfig, type RaftConfig, type Settings } from './config.js';
import { RaftLog } from './log.js';
import { Votes, answerVote, voteRequests, voteResp } from './election.js';
import { Membership, encodeConfiguration, planConfChange, type ConfChange } from './conf-change.js';
import { bootstrapMembership, replicaSet, stepDownRemovedLeader } from './conf-core.js';
import { FollowerReplication } from './follower.js';
import { DamageGuard, stepDownDamaged } from './damage.js';
import { mulberry32, type Rng } from './prng.js';
import { ReadOnly } from './read-only.js';
import { ReadyTracker } from './ready.js';
import { Replication } from './replication.js';
import { raftStatus } from './status.js';
import {
  EntryType,
  NONE,
  RaftRefusal,
  type Entry,
  type Message,
  type NodeId,
  type RaftStatus,
  type Ready,
  type Role,
  type VoteMessage,
} from './types.js';

export { DEFAULT_TICK_MS, resolveConfig, type RaftConfig } from './config.js';

const EMPTY_DATA = new Uint8Array(0);

/** Sent only by a leader of m.term (one per term, elected by a quorum of its configuration). */
const fromALeader = (m: Message): boolean => m.type === 'append' || m.type === 'heartbeat' || m.type === 'logStart';

/**
 * The Raft core: a deterministic state machine with no I/O, clock or
 * randomness of its own. See docs/RAFT.md ("The driver contract") for the
 * driver contract.
 */
export class RaftCore {
  readonly id: NodeId;
  readonly settings: Readonly<Settings>;
  private voters: NodeId[];
  private others: NodeId[];
  /** The configuration in force: that of the newest Config entry in the log (docs/RAFT.md, "Membership change"). */
  readonly membership: Membership;
  /** A member removed by the uncommitted newest Config entry is still replicated to (so it learns of its removal). */
  private lingering = false;
  private readonly rng: Rng;
  private readonly log: RaftLog;
  /** Stated in every append and heartbeat answer (RaftConfig.logEpoch). */
  readonly logEpoch: number;

  private _term = 0;
  private _vote: NodeId = NONE;
  private _lead: NodeId = NONE;
  private _role: Role = 'follower';

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;

  private readonly votes: Votes;
  /** The leader's view of each follower (used while leader; reset at every election won). */
  private readonly repl: Replication;
  private transferee: NodeId = NONE;

  /** The follower's side of replication (acknowledgements, log starts received). */
  private readonly follower: FollowerReplication;
  readonly damage = new DamageGuard(); // unrepaired log damage, set by the replica (damage.ts; docs/RAFT.md "Damaged replicas")
  private readonly reads: ReadOnly; // read-only requests on the leader (read-only.ts)

  readonly #appSnapshot: RaftConfig['appSnapshot'];
  /** Queued messages and catch-ups, the last Ready's state, the outstanding Ready (ready.ts). */
  readonly #out: ReadyTracker;
  /** 0: nothing owed; 1: new entries owed to the followers; 2: entries or at least the commit index (see oweBroadcast). */
  private broadcastOwed: 0 | 1 | 2 = 0;

  constructor(cfg: RaftConfig) {
    this.settings = resolveConfig(cfg);
    this.id = cfg.id;
    this.membership = bootstrapMembership(cfg);
    this.voters = this.membership.current.voters.map((m) => m.id);
    this.others = this.voters.filter((p) => p !== cfg.id);
    this.votes = new Votes(this.voters);
    this.rng = cfg.rng ?? mulberry32(cfg.seed ?? hashString(cfg.id));
    this.logEpoch = cfg.logEpoch ?? 0;
    this.#appSnapshot = cfg.appSnapshot;

    const storage = cfg.storage;
    const hs = storage.hardState();
    const last = storage.lastIndex();
    const commit = Math.min(hs.commit, last);
    const applied = cfg.applied ?? commit;
    if (applied > commit) {
      throw new RangeError(`raft config: applied (${applied}) is past the recovered commit index (${commit})`);
    }
    this.log = new RaftLog(storage, commit, applied);
    this._term = hs.term;
    this._vote = hs.vote;
    this.follower = new FollowerReplication(
      { id: this.id, logEpoch: this.logEpoch, term: () => this._term, leader: () => this._lead, send: (m) => this.#out.send(m), damage: this.damage, rebase: (c) => this.membership.rebase(c) && this.confChanged() },
      this.log,
      commit,
    );
    this.repl = new Replication(
      {
        id: this.id,
        term: () => this._term,
        damage: this.damage,
        send: (m) => this.#out.send(m),
        catchUp: (req) => this.#out.catchUp(req),
        commitAdvanced: () => this.commitAdvanced(),
        transferee: () => this.transferee,
        sendTimeoutNow: (to) => this.sendTimeoutNow(to),
        appSnapshot: () => (this.#appSnapshot === undefined ? null : this.#appSnapshot()),
        committedConf: () => encodeConfiguration(this.membership.committedAt(this.log.committed)),
      },
      this.log,
      this.settings,
      replicaSet(this.membership, this.log.committed, this.id).ids,
      this.voters,
    );
    this.reads = new ReadOnly({
      quorum: () => this.quorumSize(), isVoter: (id) => this.voters.includes(id), isLeader: () => this._role === 'leader', committed: () => this.log.committed,
      committedInTerm: () => this.log.term(this.log.committed) === this._term, heartbeatRound: (seq) => this.repl.heartbeat(seq),
      leaseValid: () => this.settings.checkQuorum && this.transferee === NONE && this.repl.countActive() >= this.quorumSize() &&
        this.electionElapsed + this.settings.heartbeatTicks < this.settings.electionTicks,
    });
    this.log.observer = { appended: (e, from) => this.membership.appended(e, from) && this.confChanged(), truncated: (i) => this.membership.truncated(i) && this.confChanged() };
    this.resetRandomizedElectionTimeout();
    this.#out = new ReadyTracker(this.log, this.follower, this.reads, { term: hs.term, vote: hs.vote, commit: Math.min(hs.commit, last) }, { role: this._role, leader: this._lead, term: this._term });
  }

  // ------------------------------------------------------------ accessors

  get role(): Role { return this._role; }
  get term(): number { return this._term; }
  get vote(): NodeId { return this._vote; }
  get leader(): NodeId { return this._lead; }
  get commitIndex(): number { return this.log.committed; }
  get appliedIndex(): number { return this.log.applied; }
  get lastIndex(): number { return this.log.lastIndex(); }
  get durableIndex(): number { return this.log.durable; }
  get firstIndex(): number { return this.log.firstIndex(); }
  /** Leader only: the follower being transferred to ('' if none). */
  get leadTransferee(): NodeId { return this.transferee; }
  get peers(): readonly NodeId[] { return this.voters; }

  /** Term of `index` in this node's log (unstable part included); undefined if unknown. */
  termAt(index: number): number | undefined { return this.log.term(index); }
  /** Entries [lo, hi) of this node's log (unstable part included); null if compacted. Not for hot paths. */
  entries(lo: number, hi: number): Entry[] | null { return this.log.slice(lo, hi, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER); }
  status(): RaftStatus { return raftStatus(this, this._role === 'leader' ? this.repl.status() : {}); }

  // ------------------------------------------------------------ inputs

  /** Advances logical time by one tick. */
  tick(): void {
    if (this._role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  /**
   * Appends payloads as new entries (leader only). Returns the index of the
   * first one; they get consecutive indexes. Throws RaftRefusal
   * (ERR_NOT_LEADER with a leader hint, or ERR_TRANSFER_IN_PROGRESS).
   */
  propose(payloads: readonly Uint8Array[], type: EntryType = EntryType.Normal): number {
    this.mustLead(NONE);
    const n = payloads.length;
    if (n === 0) throw new RangeError('raft: propose() needs at least one payload');
    if (type === EntryType.Config) throw new RangeError('raft: Config entries are proposed with proposeConfChange()');
    if (type !== EntryType.Normal && type !== EntryType.Noop) {
      throw new RangeError(`raft: unknown entry type ${String(type)}`);
    }
    const first = this.log.lastIndex() + 1;
    const term = this._term;
    for (let i = 0; i < n; i++) {
      const data = payloads[i];
      if (!(data instanceof Uint8Array)) throw new TypeError('raft: payloads must be Uint8Array');
      this.log.push({ index: first + i, term, type, data });
    }
    this.oweBroadcast(false);
    return first;
  }

  /** A read, leader only (else RaftRefusal): its ReadState comes in a later Ready (docs/RAFT.md, "Reads"). */
  readIndex(ctx: number, lease = false): void {
    if (this._role !== 'leader') throw new RaftRefusal('ERR_NOT_LEADER', this._lead, `raft: ${this.id} is not the leader`);
    this.reads.request(ctx, lease);
  }

  /** Votes needed for a quorum of the configuration in force. */
  private quorumSize(): number {
    return Math.floor(this.voters.length / 2) + 1;
  }

  /**
   * Leader: appends the Config entry for one single-server change and returns
   * its index; it takes effect at once (docs/RAFT.md, "Membership change").
   * Throws RaftRefusal (planConfChange in conf-change.ts lists the codes).
   * Removing the target of a leadership transfer cancels the transfer.
   */
  proposeConfChange(cc: ConfChange): number {
    this.mustLead(cc.type === 'remove' ? cc.id : NONE);
    const data = planConfChange(this.membership, cc, {
      id: this.id, term: this._term, committed: this.log.committed, committedTerm: this.log.term(this.log.committed),
      lastIndex: this.log.lastIndex(), maxPromoteLagEntries: this.settings.maxPromoteLagEntries,
      matchOf: (p) => this.repl.prs.get(p)?.confirmedMatch() ?? 0,
    });
    const index = this.log.lastIndex() + 1;
    this.log.push({ index, term: this._term, type: EntryType.Config, data });
    this.oweBroadcast(true);
    return index;
  }

  /** Throws RaftRefusal unless this node leads with no leadership transfer in progress (except one to `removing`). */
  private mustLead(removing: NodeId): void {
    if (this._role !== 'leader') throw new RaftRefusal('ERR_NOT_LEADER', this._lead, `raft: ${this.id} is not the leader`);
    if (this.transferee !== NONE && this.transferee !== removing) {
      throw new RaftRefusal('ERR_TRANSFER_IN_PROGRESS', this.id, `raft: leadership transfer to ${this.transferee} in progress`);
    }
  }

  /** Starts an election now (with pre-vote if enabled). No-op on a leader. */
  campaign(): void { this.hup(false); }

  /**
   * Hands leadership to `to`: it is caught up, then told to campaign at once
   * (TimeoutNow). Proposals are refused meanwhile; the transfer is abandoned
   * after an election timeout. Throws RaftRefusal if this node is not leader.
   */
  transferLeadership(to: NodeId): void {
    if (this._role !== 'leader') throw new RaftRefusal('ERR_NOT_LEADER', this._lead, `raft: ${this.id} is not the leader`);
    if (to === this.id) {
      this.transferee = NONE;
      return;
    }
    const pr = this.repl.prs.get(to);
    if (pr === undefined || !this.voters.includes(to)) throw new RangeError(`raft: transferLeadership to ${JSON.stringify(to)}, not a voter`);
    if (this.transferee === to) return;
    this.transferee = to;
    this.electionElapsed = 0;
    if (pr.confirmedMatch() === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.repl.sendAppends(pr, true);
  }

  /**
   * The driver's log is durable through (index, term): the last entry of the
   * log as it is on disk after a flush. Also promises that the hard state of
   * every Ready that carried those entries is durable. Late reports about a
   * since-truncated suffix are ignored.
   */
  markDurable(index: number, term: number): void {
    if (!this.log.stableTo(index, term)) return;
    if (this._role === 'leader') {
      if (this.repl.maybeCommit()) this.commitAdvanced();
    } else if (this._role === 'follower' && this._lead !== NONE) {
      this.follower.onDurable();
    }
  }

  /** Processes one message from a peer. */
  step(m: Message): void {
    // Members, the leader we follow (its own removal may already be in our log), and any
    // leader's messages: a member this node's configuration does not name yet may lead, and
    // this node learns of it only from its log. Votes from non-members are still ignored.
    if (m.to !== this.id || (m.from !== this.id && m.from !== this._lead && !this.repl.prs.has(m.from) && !fromALeader(m))) return;
    if (m.term > this._term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        const inLease =
          this.settings.checkQuorum &&
          this._lead !== NONE &&
          this.electionElapsed < this.settings.electionTicks;
        if (!m.transfer && inLease) return; // a live leader: ignore disruptive candidates
      }
      if (m.type === 'preVote') {
        // not a real term: don't change ours
      } else if (m.type === 'preVoteResp' && !m.reject) {
        // granted pre-vote answers carry the term we would campaign for
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'logStart') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this._term) {
      if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'logStart') {
        // A stale leader: tell it our term so it steps down.
        this.send(this.follower.appendResp(m.from, 0, false, 0, 0));
      } else if (m.type === 'preVote') {
        this.send(voteResp('preVoteResp', this.id, m.from, this._term, true));
      }
      return;
    }

    if (m.type === 'vote' || m.type === 'preVote') {
      this.handleVote(m);
      return;
    }
    switch (this._role) {
      case 'leader':
        this.repl.onResponse(m);
        if (m.type === 'heartbeatResp') this.reads.onHeartbeatResp(m);
        break;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m);
        break;
      default:
        this.stepFollower(m);
    }
  }

  // ------------------------------------------------------------ ready / advance

  hasReady(): boolean {
    if (this.#out.outstanding) return false;
    this.payBroadcast();
    this.reads.flush();
    if (this.lingering && this.log.committed >= this.membership.pendingIndex) this.confChanged();
    if (this._role === 'leader' && !this.voters.includes(this.id) && this.log.committed >= this.membership.pendingIndex) {
      stepDownRemovedLeader(this.repl, this.log.lastIndex(), this.voters, (to) => this.sendTimeoutNow(to));
      this.becomeFollower(this._term, NONE);
    }
    if (this._role === 'leader' && stepDownDamaged(this.damage, this.repl, this.log.lastIndex(), this.voters, (to) => this.sendTimeoutNow(to))) this.becomeFollower(this._term, NONE);
    return this.#out.hasOutput(this);
  }

  /**
   * Returns what the driver must do now, or null if nothing. The previous
   * Ready must have been advance()d first.
   */
  ready(): Ready | null {
    if (this.#out.outstanding) throw new Error('raft: ready() called before advance() of the previous Ready');
    return this.hasReady() ? this.#out.take(this) : null;
  }

  /** The driver finished handling `rd` (entries written, committed range applied). */
  advance(rd: Ready): void { this.#out.advance(rd); }

  // ------------------------------------------------------------ roles

  private resetRandomizedElectionTimeout(): void {
    const e = this.settings.electionTicks;
    this.randomizedElectionTimeout = e + Math.floor(this.rng() * e);
  }

  private reset(term: number): void {
    if (this._term !== term) {
      this._term = term;
      this._vote = NONE;
      this.follower.clearLogStart(); // a partial log start belongs to one term's leader
    }
    this._lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.transferee = NONE;
    this.votes.clear();
    this.follower.reset();
    this.broadcastOwed = 0;
    this.reads.reset();
  }

  private becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this._lead = lead;
    this._role = 'follower';
  }

  private becomePreCandidate(): void {
    // Pre-vote changes neither term nor vote.
    this.votes.clear();
    this._lead = NONE;
    this.transferee = NONE;
    this._role = 'preCandidate';
    this.electionElapsed = 0;
    this.resetRandomizedElectionTimeout();
  }

  private becomeCandidate(): void {
    this.reset(this._term + 1);
    this._vote = this.id;
    this._role = 'candidate';
  }

  private becomeLeader(): void {
    this.reset(this._term);
    this._lead = this.id;
    this._role = 'leader';
    const next = this.log.lastIndex() + 1;
    this.repl.resetForTerm(next);
    // The no-op that lets this term commit (and with it every earlier entry).
    this.log.push({ index: next, term: this._term, type: EntryType.Noop, data: EMPTY_DATA });
    this.repl.broadcast(true);
  }

  private hup(transfer: boolean): void {
    if (this._role === 'leader' || !this.voters.includes(this.id) || !this.damage.mayCampaign()) return; // learners, removed and damaged nodes never campaign
    if (this.settings.preVote && !transfer) this.runPreVote();
    else this.runElection(transfer);
  }

  private runPreVote(): void {
    this.becomePreCandidate();
    this.votes.voteForSelf(this.id);
    if (this.votes.tally() === 'won') {
      this.runElection(false);
      return;
    }
    for (const m of voteRequests('preVote', this.id, this.others, this._term + 1, this.log, false)) this.send(m);
  }

  private runElection(transfer: boolean): void {
    this.becomeCandidate();
    this.votes.voteForSelf(this.id);
    if (this.votes.tally() === 'won') {
      this.becomeLeader();
      return;
    }
    for (const m of voteRequests('vote', this.id, this.others, this._term, this.log, transfer)) this.send(m);
  }

  // ------------------------------------------------------------ ticks

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.settings.electionTicks) {
      this.electionElapsed = 0;
      if (this.settings.checkQuorum && !this.repl.takeQuorumActive()) {
        this.becomeFollower(this._term, NONE);
        return;
      }
      if (this.transferee !== NONE) this.transferee = NONE; // transfer timed out
      this.repl.retryCatchUps();
    }
    this.repl.sendOwedCommits();
    if (this.heartbeatElapsed >= this.settings.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.repl.heartbeat(this.reads.pendingCount > 0 ? this.reads.seq : 0); // re-sends the newest read round
    }
  }

  // ------------------------------------------------------------ messages

  private send(m: Message): void {
    this.#out.send(m);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: 'timeoutNow', from: this.id, to, term: this._term });
  }

  private handleVote(m: VoteMessage): void {
    // A replica with unrepaired damage grants nothing (damage.ts; docs/RAFT.md "Damaged replicas").
    const r = this.damage.mayGrantVote()
      ? answerVote(m, this.id, this._vote, this._lead, this._term, this.log)
      : voteResp(m.type === 'preVote' ? 'preVoteResp' : 'voteResp', this.id, m.from, this._term, true);
    if (!r.reject && r.type === 'voteResp') {
      this.electionElapsed = 0;
      this._vote = m.from;
    }
    this.send(r);
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this._lead = m.from;
        this.follower.handleAppend(m);
        break;
      case 'heartbeat':
        this.electionElapsed = 0;
        this._lead = m.from;
        this.follower.handleHeartbeat(m);
        break;
      case 'timeoutNow':
        this.hup(true);
        break;
      case 'logStart':
        this.electionElapsed = 0;
        this._lead = m.from;
        this.follower.handleLogStart(m);
        break;
      default:
        break;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'logStart':
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m); // a current leader exists: handle it as its follower
        break;
      case 'voteResp':
      case 'preVoteResp': {
        if ((m.type === 'preVoteResp') !== (this._role === 'preCandidate')) return;
        this.votes.record(m.from, !m.reject);
        const r = this.votes.tally();
        if (r === 'won') {
          if (this._role === 'preCandidate') this.runElection(false);
          else this.becomeLeader();
        } else if (r === 'lost') {
          this.becomeFollower(this._term, NONE);
        }
        break;
      }
      default:
        break;
    }
  }

  // ------------------------------------------------------------ replication

  /** The configuration in force changed (an appended or truncated Config entry). Returns true. */
  private confChanged(): true {
    this.membership.compactTo(this.log.committed);
    const c = this.membership.current;
    this.voters = c.voters.map((m) => m.id);
    this.others = this.voters.filter((p) => p !== this.id);
    this.votes.setVoters(this.voters);
    const members = replicaSet(this.membership, this.log.committed, this.id);
    this.lingering = members.lingering;
    this.repl.setMembers(members.ids, this.voters, this.log.lastIndex() + 1);
    if (this.transferee !== NONE && !this.voters.includes(this.transferee)) this.transferee = NONE;
    return true;
  }

  /**
   * A commit advance owes the followers the new commit index, but not a message of its own:
   * it rides on the next append (the next proposal's, or the one this ack lets the window
   * send), and only if none has left by the next tick does that tick send the empty
   * (commit-only) appends. Under load every append carries it; at one append in flight the
   * next append carries the previous one's commit, and the followers are spared a wake-up
   * and the leader two writes per append. A follower's commit index may so trail the
   * leader's by up to one tick, which only delays its apply and its follower reads; safety
   * never depends on when a follower learns the commit index.
   */
  private commitAdvanced(): void {
    this.oweBroadcast(false);
  }

  /**
   * Proposals and commit advances do not message the followers at once: they owe one
   * broadcast, paid when the driver next asks for a Ready. Everything proposed, and every
   * commit advance, between two Readies then leaves as one append per follower instead of
   * one per proposal or per ack (the driver asks once per event-loop turn).
   */
  private oweBroadcast(sendIfEmpty: boolean): void {
    const level: 1 | 2 = sendIfEmpty ? 2 : 1;
    if (level > this.broadcastOwed) this.broadcastOwed = level;
  }

  private payBroadcast(): void {
    const owed = this.broadcastOwed;
    if (owed === 0) return;
    this.broadcastOwed = 0;
    if (this._role === 'leader') this.repl.broadcast(owed === 2);
  }
}
