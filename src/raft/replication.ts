/**
 * The leader's side of replication (§5.3): one Progress per follower, what to
 * send each of them, what their answers mean (including log epochs,
 * docs/RAFT.md), and the commit rule. RaftCore owns one and hands it the
 * answers it receives while leader.
 */
import type { DamageGuard } from './damage.js';
import type { Settings } from './config.js';
import type { RaftLog } from './log.js';
import { leaderLogStart, logStartChunk, onLogStartResponse, snapshotOrEmpty } from './log-start.js';
import { Progress } from './progress.js';
import { isFollowerAnswer } from './types.js';
import type {
  AppSnapshot,
  AppendMessage,
  AppendResponseMessage,
  CatchUpRequest,
  Entry,
  HeartbeatMessage,
  LogStartResponseMessage,
  Message,
  NodeId,
  ProgressStatus,
} from './types.js';

const NO_ENTRIES: Entry[] = [];

/** What replication needs from the core. */
export interface ReplicationContext {
  readonly id: NodeId;
  /** Unrepaired damage caps the leader's own count toward commit (damage.ts). */
  readonly damage?: DamageGuard;
  term(): number;
  send(m: Message): void;
  catchUp(req: CatchUpRequest): void;
  /** The commit index advanced: the followers are owed a broadcast. */
  commitAdvanced(): void;
  /** The follower a leadership transfer is waiting for ('' if none). */
  transferee(): NodeId;
  sendTimeoutNow(to: NodeId): void;
  /** The application snapshot for a log start (RaftConfig.appSnapshot). */
  appSnapshot(): AppSnapshot | null;
  /** The committed configuration (a Config entry body), sent with a log start. */
  committedConf(): Uint8Array;
}

export class Replication {
  readonly prs = new Map<NodeId, Progress>();
  readonly list: Progress[] = [];
  private matchBuf: Float64Array;
  /** The voters of the current configuration; only they count toward commit and check-quorum. */
  #voters: ReadonlySet<NodeId>;
  private quorum: number;

  constructor(
    private readonly ctx: ReplicationContext,
    private readonly log: RaftLog,
    private readonly settings: Readonly<Settings>,
    members: readonly NodeId[],
    voters: readonly NodeId[],
  ) {
    this.#voters = new Set(voters);
    this.quorum = Math.floor(voters.length / 2) + 1;
    this.matchBuf = new Float64Array(0);
    this.setMembers(members, voters, 1);
  }

  /**
   * The configuration changed (docs/RAFT.md, "Membership change"): `members`
   * are everyone but this node that receives the log (voters and learners); a
   * new one is probed at `next`, a departed one forgotten.
   */
  setMembers(members: readonly NodeId[], voters: readonly NodeId[], next: number): void {
    const keep = new Set(members);
    for (let i = this.list.length - 1; i >= 0; i--) {
      const pr = this.list[i] as Progress;
      if (!keep.has(pr.id)) {
        this.list.splice(i, 1);
        this.prs.delete(pr.id);
      }
    }
    for (const p of members) {
      if (this.prs.has(p)) continue;
      const pr = new Progress(p, this.settings.maxInflightMessages);
      pr.resetForTerm(next);
      this.prs.set(p, pr);
      this.list.push(pr);
    }
    this.#voters = new Set(voters);
    this.quorum = Math.floor(voters.length / 2) + 1;
    this.matchBuf = new Float64Array(voters.length);
  }

  /** A new term's leader knows nothing of its followers yet: probe each at `next`. */
  resetForTerm(next: number): void {
    for (const pr of this.list) pr.resetForTerm(next);
  }

  /** Check-quorum: counts the followers heard from since the last call (plus this node) and starts a new round. */
  takeActive(): number {
    let active = this.#voters.has(this.ctx.id) ? 1 : 0;
    for (const pr of this.list) {
      if (pr.recentActive && this.#voters.has(pr.id)) active++;
      pr.recentActive = false;
    }
    return active;
  }

  /** Check-quorum: whether the voters heard from since the last call (this node included, if a voter) form a quorum; starts a new round. */
  takeQuorumActive(): boolean {
    return this.takeActive() >= this.quorum;
  }

  /** Followers parked in catch-up are probed again (re-signalling if still needed). */
  retryCatchUps(): void {
    for (const pr of this.list) {
      if (pr.state === 'catchUp') pr.becomeProbe();
    }
  }

  /** Voters heard from in the current check-quorum period, this node included if it votes (no reset). */
  countActive(): number {
    let active = this.#voters.has(this.ctx.id) ? 1 : 0;
    for (const pr of this.list) if (pr.recentActive && this.#voters.has(pr.id)) active++;
    return active;
  }

  /** One heartbeat per follower, carrying min(commit, confirmed match) and the read round `readSeq` (0: none). */
  heartbeat(readSeq = 0): void {
    const commit = this.log.committed;
    const term = this.ctx.term();
    for (const pr of this.list) {
      const match = pr.confirmedMatch();
      const hb: HeartbeatMessage = { type: 'heartbeat', from: this.ctx.id, to: pr.id, term, commit: match < commit ? match : commit };
      if (readSeq > 0) hb.readSeq = readSeq;
      this.ctx.send(hb);
    }
  }

  status(): Record<NodeId, ProgressStatus> {
    const out: Record<NodeId, ProgressStatus> = {};
    for (const pr of this.list) out[pr.id] = pr.status();
    return out;
  }

  /** An append or heartbeat answer from a follower, on the leader. */
  onResponse(m: Message): void {
    const pr = this.prs.get(m.from);
    if (pr === undefined) return;
    if (!isFollowerAnswer(m)) return;
    const epoch = this.observeEpoch(pr, m.epoch);
    if (epoch === 'stale') return;
    pr.recentActive = true;
    if (m.type === 'logStartResp') {
      this.handleLogStartResponse(pr, m);
    } else if (m.type === 'appendResp') {
      if (m.reject) this.handleRejection(pr, m);
      else this.handleAck(pr, m);
    } else {
      pr.probeSent = false;
      if (pr.state === 'replicate' && pr.inflight >= pr.capacity) pr.freeFirst();
      // A follower that is behind gets an append; in replicate state with
      // everything already sent this is an empty one, which detects appends
      // the network lost (the follower rejects it and we fall back to probe).
      if (pr.match < this.log.lastIndex() || pr.verifying) this.sendAppends(pr, true);
    }
    // A new epoch put the follower in probe at match: make sure the probe leaves.
    if (epoch === 'new') this.sendAppends(pr, true);
  }

  /**
   * Tracks the log epoch a follower states in its answers. An answer from an
   * older epoch than one already heard describes a log that no longer exists:
   * 'stale', ignore it. A newer epoch after something was acknowledged: the
   * follower restarted and may have lost entries, so `match` is unconfirmed
   * until it answers a probe at match ('new'). Otherwise 'same'.
   */
  private observeEpoch(pr: Progress, epoch: number): 'stale' | 'same' | 'new' {
    if (epoch === pr.epoch) return 'same';
    if (epoch < pr.epoch) return 'stale';
    pr.epoch = epoch;
    if (pr.match === 0) return 'same'; // nothing believed yet
    pr.verifying = true;
    pr.becomeProbe();
    return 'new';
  }

  private handleAck(pr: Progress, m: AppendResponseMessage): void {
    if (pr.verifying && m.index >= pr.match) pr.verifying = false; // the new epoch still holds match
    if (pr.maybeUpdate(m.index) || (pr.state === 'probe' && pr.match === m.index)) {
      // Leave probe only on an answer to the latest probe (or later); an
      // older ack arriving late must not re-send the whole window (with
      // reordering links that flapping amplified traffic without bound).
      if (pr.state === 'probe') {
        if (m.index >= pr.next - 1) pr.becomeReplicate();
      }
      else if (pr.state === 'replicate') pr.freeLE(m.index);
      else if (pr.state === 'catchUp' && pr.match + 1 >= pr.catchUpFrom) pr.becomeProbe();
      if (this.maybeCommit()) this.ctx.commitAdvanced();
      else this.sendAppends(pr, false);
      if (this.ctx.transferee() === m.from && pr.confirmedMatch() === this.log.lastIndex()) this.ctx.sendTimeoutNow(m.from);
    }
  }

  /** A follower in reset state holds more of the snapshot, or finished its reset. */
  private handleLogStartResponse(pr: Progress, m: LogStartResponseMessage): void {
    const r = onLogStartResponse(pr, m);
    if (r === 'ignore') return;
    if (r === 'done') {
      // Its log durably restarts after m.index (committed here): probe right after it.
      if (pr.match < m.index) pr.match = m.index;
      pr.verifying = false;
      pr.becomeProbe();
    }
    this.sendAppends(pr, true);
  }

  private handleRejection(pr: Progress, m: AppendResponseMessage): void {
    let hint = m.rejectHint;
    if (m.hintTerm > 0) hint = this.log.findConflictByTerm(m.rejectHint, m.hintTerm).index;
    if (pr.verifying && (m.index <= pr.match || m.rejectHint < pr.match)) {
      // In its new epoch the follower lacks entries at or below what it had
      // acknowledged (holding them, it would have accepted this prevIndex, and
      // its hint could not fall below match): it really lost them. Forget match
      // and back up from its hint.
      pr.verifying = false;
      pr.match = 0;
      pr.becomeProbe();
      pr.next = Math.max(1, Math.min(m.index, hint + 1));
      this.sendAppends(pr, true);
      return;
    }
    // Within one log epoch a follower never loses an entry it acknowledged to
    // this leader, so a rejection below match was sent before a later ack and
    // overtaken by it: maybeDecrTo ignores it (it never moves next to or below
    // match).
    if (pr.maybeDecrTo(m.index, hint)) {
      if (pr.state === 'replicate') pr.becomeProbe();
      this.sendAppends(pr, true);
    }
  }

  /** Advances the commit index to what a quorum holds durably, if that is an entry of this term. */
  maybeCommit(): boolean {
    const buf = this.matchBuf;
    let n = 0;
    if (this.#voters.has(this.ctx.id)) buf[n++] = this.ctx.damage === undefined ? this.log.durable : this.ctx.damage.reportedMatch(this.log.durable);
    const prs = this.list;
    for (let i = 0; i < prs.length; i++) {
      const pr = prs[i] as Progress;
      if (this.#voters.has(pr.id)) buf[n++] = pr.confirmedMatch();
    }
    buf.sort();
    const mci = buf[buf.length - this.quorum] as number;
    if (mci > this.log.committed && this.log.term(mci) === this.ctx.term()) {
      this.log.committed = mci;
      return true;
    }
    return false;
  }

  /**
   * Tick: an empty append to each follower in replicate state whose last append carried an
   * older commit index than ours (RaftCore's commitAdvanced: a commit advance waits for the
   * next append, at most until this tick). Followers in other states learn it from their
   * next probe answer or heartbeat.
   */
  sendOwedCommits(): void {
    const prs = this.list;
    for (let i = 0; i < prs.length; i++) {
      const pr = prs[i] as Progress;
      if (pr.state === 'replicate' && pr.sentCommit < this.log.committed) this.sendAppends(pr, true);
    }
  }

  broadcast(sendIfEmpty: boolean): void {
    const prs = this.list;
    for (let i = 0; i < prs.length; i++) this.sendAppends(prs[i] as Progress, sendIfEmpty);
  }

  /** Sends what the window allows to one follower. */
  sendAppends(pr: Progress, sendIfEmpty: boolean): void {
    if (!this.sendAppend(pr, sendIfEmpty)) return;
    while (pr.state === 'replicate' && pr.next <= this.log.lastIndex()) {
      if (!this.sendAppend(pr, false)) return;
    }
  }

  private sendAppend(pr: Progress, sendIfEmpty: boolean): boolean {
    if (pr.isPaused()) return false;
    const log = this.log;
    if (pr.state === 'reset') {
      this.ctx.send(logStartChunk(this.ctx.id, this.ctx.term(), pr, this.settings.snapshotChunkBytes, this.ctx.committedConf()));
      pr.probeSent = true;
      return true;
    }
    const prevIndex = pr.next - 1;
    const prevTerm = log.term(prevIndex);
    if (prevTerm === undefined) {
      this.needCatchUp(pr);
      return false;
    }
    let ents: Entry[] = NO_ENTRIES;
    const last = log.lastIndex();
    if (pr.next <= last) {
      const s = log.slice(pr.next, last + 1, this.settings.maxBytesPerMessage, this.settings.maxEntriesPerMessage);
      if (s === null) {
        this.needCatchUp(pr);
        return false;
      }
      ents = s;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    const m: AppendMessage = {
      type: 'append',
      from: this.ctx.id,
      to: pr.id,
      term: this.ctx.term(),
      prevIndex,
      prevTerm,
      entries: ents,
      commit: log.committed,
    };
    if (ents.length === 0 && pr.state === 'replicate' && !pr.verifying && pr.match === prevIndex) m.commitOnly = true;
    this.ctx.send(m);
    pr.sentCommit = log.committed;
    if (pr.state === 'replicate') {
      if (ents.length > 0) {
        const lastSent = (ents[ents.length - 1] as Entry).index;
        pr.next = lastSent + 1;
        pr.addInflight(lastSent);
      }
    } else {
      pr.probeSent = true;
    }
    return true;
  }

  /** The follower needs entries below our first index: send it our log start, or signal catch-up if storage cannot name it. */
  private needCatchUp(pr: Progress): void {
    const at = leaderLogStart(this.log);
    if (at !== null) {
      pr.becomeReset(at, snapshotOrEmpty(this.ctx.appSnapshot()));
      this.sendAppend(pr, true);
      return;
    }
    pr.becomeCatchUp(pr.next);
    this.ctx.catchUp({ peer: pr.id, fromIndex: pr.next });
  }
}
