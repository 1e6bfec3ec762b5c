/**
 * Read-only requests on the leader (docs/RAFT.md, "Reads"): ReadIndex in the
 * style of etcd's ReadOnlySafe, and lease reads (ReadOnlyLeaseBased).
 *
 * ReadIndex contract. `request(ctx)` on the leader records `index`, the
 * leader's commit index at that moment. The read is confirmed (a ReadState
 * `{ctx, index}` in Ready.readStates) once a quorum (this node included) has
 * answered a heartbeat carrying a read sequence number >= the read's: the
 * node was still leader after the read arrived, so no other leader can have
 * committed anything it lacks, and `index` is >= every index committed
 * anywhere before the request. The driver then serves the read once it has
 * applied through `index`.
 *
 * - A read issued before the leader has committed an entry of its own term
 *   waits (the leader's commit index may still lag the cluster's); it joins a
 *   round as soon as that first commit happens, with the commit index then.
 * - Batching: at most one round is in flight. Every read requested while no
 *   round is out leaves in the next Ready's round (one sequence number); reads
 *   requested while a round is out wait, and all of them leave together in one
 *   round once that round is confirmed. So N concurrent reads cost one round
 *   per round trip, not one per Ready (a read waits at most two round trips).
 *   A lost round is re-sent by the periodic heartbeat, which carries the newest
 *   sequence; a later round's quorum also confirms every earlier round.
 * - Reads pending when the node stops being leader are dropped and reported
 *   in Ready.droppedReads (the driver answers them "not leader, retry").
 *
 * Lease contract. `request(ctx, true)` answers at once with the commit index
 * if the node is leader, check-quorum is on, an entry of its term is
 * committed, no leadership transfer is in progress, a quorum has answered
 * during the current check-quorum period (which began P = electionElapsed
 * ticks ago), and P + heartbeatTicks < electionTicks. Why that is safe: a
 * follower that answered in this period heard the leader at or after
 * (period start - one-way delay), and refuses votes (and does not time out)
 * for electionTicks of its own ticks after that; so no other leader can exist
 * before (period start + electionTicks - delay). Clock assumption: ticks on
 * every node advance at the same rate (drift over one election period
 * negligible) and a message's one-way delay plus that drift stays below
 * heartbeatTicks (100 ms with the defaults). If it does not hold, use
 * ReadIndex. Otherwise (no lease) the request becomes a ReadIndex round.
 */
import type { HeartbeatResponseMessage, NodeId, ReadState } from './types.js';

/** What the read tracker needs from the core. */
export interface ReadOnlyContext {
  /** Votes needed for a quorum of the configuration in force (membership may change it). */
  quorum(): number;
  /** Does `id` count toward a quorum now (a voter of the configuration in force)? */
  isVoter(id: NodeId): boolean;
  /** Is this node leader now? */
  isLeader(): boolean;
  /** The leader's commit index. */
  committed(): number;
  /** Has the leader committed an entry of its current term? */
  committedInTerm(): boolean;
  /** May a lease read be answered without a round (see the lease contract)? */
  leaseValid(): boolean;
  /** Send one heartbeat to every follower carrying `readSeq`. */
  heartbeatRound(readSeq: number): void;
}

interface PendingRead {
  ctx: number;
  index: number;
  seq: number;
}

const NO_STATES: ReadState[] = [];
const NO_DROPS: number[] = [];

export class ReadOnly {
  readonly #c: ReadOnlyContext;
  /** Sequence number of the last round sent (0: none in this term). */
  #seq = 0;
  /** Reads waiting for the leader's first commit in its term (ctx only). */
  #waiting: number[] = [];
  /** Reads with an index, not yet in a round. */
  #unsent: PendingRead[] = [];
  /** Reads in a round, in sequence order. */
  #pending: PendingRead[] = [];
  /** Highest read sequence each follower has echoed in this term. */
  readonly #acked = new Map<NodeId, number>();
  #states: ReadState[] = [];
  #dropped: number[] = [];

  constructor(c: ReadOnlyContext) {
    this.#c = c;
  }

  /** Sequence number of the newest round (carried by heartbeats; 0 if none). */
  get seq(): number {
    return this.#seq;
  }

  /** How many reads are not yet confirmed (waiting, unsent or in a round). */
  get pendingCount(): number {
    return this.#waiting.length + this.#unsent.length + this.#pending.length;
  }

  /** A read request (leader only; the caller checks the role): lease or ReadIndex. */
  request(ctx: number, lease: boolean): void {
    if (!Number.isSafeInteger(ctx) || ctx < 0) throw new RangeError(`raft: read context must be a non-negative safe integer, got ${String(ctx)}`);
    if (lease) this.#requestLease(ctx);
    else this.#requestIndex(ctx);
  }

  #requestIndex(ctx: number): void {
    if (!this.#c.committedInTerm()) {
      this.#waiting.push(ctx);
      return;
    }
    this.#unsent.push({ ctx, index: this.#c.committed(), seq: 0 });
  }

  /** A lease read: answered at once if the lease holds, else a ReadIndex round. */
  #requestLease(ctx: number): void {
    if (this.#c.committedInTerm() && this.#c.leaseValid()) {
      this.#states.push({ ctx, index: this.#c.committed() });
      return;
    }
    this.#requestIndex(ctx);
  }

  /**
   * Called when the core prepares a Ready: reads released by the first commit
   * of the term get their index, and every unsent read leaves in one round
   * unless a round is still in flight.
   */
  flush(): void {
    if (!this.#c.isLeader()) return;
    if (this.#waiting.length > 0 && this.#c.committedInTerm()) {
      const index = this.#c.committed();
      for (const ctx of this.#waiting) this.#unsent.push({ ctx, index, seq: 0 });
      this.#waiting = [];
    }
    if (this.#unsent.length === 0 || this.#pending.length > 0) return;
    const seq = ++this.#seq;
    for (const r of this.#unsent) {
      r.seq = seq;
      this.#pending.push(r);
    }
    this.#unsent = [];
    if (this.#c.quorum() <= 1) {
      this.#confirm(seq);
      return;
    }
    this.#c.heartbeatRound(seq);
  }

  /** A heartbeat answer on the leader (same term; the core checked). */
  onHeartbeatResp(m: HeartbeatResponseMessage): void {
    const s = m.readSeq;
    if (s === undefined || s === 0 || s > this.#seq) return;
    const prev = this.#acked.get(m.from) ?? 0;
    if (s <= prev) return;
    this.#acked.set(m.from, s);
    // The highest sequence a quorum of voters (this node included) has echoed; learners and
    // removed members do not count.
    const acks: number[] = [...this.#acked].filter(([id]) => this.#c.isVoter(id)).map(([, seq]) => seq).sort((a, b) => b - a);
    const need = this.#c.quorum() - 1;
    if (need <= 0 || acks.length < need) return;
    this.#confirm(acks[need - 1]!);
  }

  /** The node's role or term changed: every unconfirmed read is dropped. */
  reset(): void {
    for (const ctx of this.#waiting) this.#dropped.push(ctx);
    for (const r of this.#unsent) this.#dropped.push(r.ctx);
    for (const r of this.#pending) this.#dropped.push(r.ctx);
    this.#waiting = [];
    this.#unsent = [];
    this.#pending = [];
    this.#acked.clear();
    this.#seq = 0;
  }

  hasOutput(): boolean {
    return this.#states.length > 0 || this.#dropped.length > 0 || (this.#unsent.length > 0 && this.#pending.length === 0) ||
      (this.#waiting.length > 0 && this.#c.isLeader() && this.#c.committedInTerm());
  }

  takeStates(): readonly ReadState[] {
    if (this.#states.length === 0) return NO_STATES;
    const s = this.#states;
    this.#states = [];
    return s;
  }

  takeDropped(): readonly number[] {
    if (this.#dropped.length === 0) return NO_DROPS;
    const d = this.#dropped;
    this.#dropped = [];
    return d;
  }

  #confirm(seq: number): void {
    let n = 0;
    const p = this.#pending;
    while (n < p.length && p[n]!.seq <= seq) {
      this.#states.push({ ctx: p[n]!.ctx, index: p[n]!.index });
      n++;
    }
    if (n > 0) this.#pending = p.slice(n);
  }
}
