import type { AppSnapshot, LogStartPoint, NodeId, ProgressState, ProgressStatus } from './types.js';

/** reset state: the log start being sent to a follower (docs/RAFT.md, "Log start"). */
export interface ResetTransfer {
  at: LogStartPoint;
  snapshot: AppSnapshot;
  /** Snapshot bytes the follower acknowledged holding; the next chunk starts here. */
  offset: number;
}

/**
 * The leader's view of one follower (etcd's Progress + Inflights).
 *
 * probe:     we don't know where the follower's log matches ours; send one
 *            append at a time and wait for its answer (or a heartbeat answer).
 * replicate: the follower is matching; stream appends optimistically, at most
 *            `capacity` messages in flight (a ring of the last index of each).
 * catchUp:   the follower needs entries below our storage's firstIndex and the
 *            storage cannot name its start (no startPos()); nothing is sent
 *            until the leader re-probes.
 * reset:     the follower needs entries below our firstIndex: it is sent a log
 *            start (one logStart chunk in flight, `probeSent`), then probed at
 *            the boundary + 1 (etcd's StateSnapshot).
 *
 * `match` is what the follower acknowledged, in the log epoch `epoch`. It only
 * moves back when the follower proves, in a newer epoch, that it lost entries
 * (docs/RAFT.md, "Log epochs"); until the new epoch confirms or refutes it,
 * `verifying` is set and `match` does not count (confirmedMatch()).
 */
export class Progress {
  match = 0;
  next = 1;
  state: ProgressState = 'probe';
  /** probe state: an append was sent and we wait for its answer. */
  probeSent = false;
  /** Heard from this peer since the last check-quorum round. */
  recentActive = false;
  /** catchUp state: the first index the follower needs. */
  catchUpFrom = 0;
  /** The follower's log epoch as last heard in this term; -1 before its first answer. */
  epoch = -1;
  /** `match` came from an older epoch and the current one has not confirmed it yet. */
  verifying = false;
  /** reset state: what is being sent. */
  transfer: ResetTransfer | null = null;
  /** The commit index the last append sent to this follower carried (Replication.sendOwedCommits). */
  sentCommit = 0;
  private readonly ring: Float64Array;
  private start = 0;
  private count = 0;

  constructor(
    readonly id: NodeId,
    readonly capacity: number,
  ) {
    this.ring = new Float64Array(capacity);
  }

  get inflight(): number {
    return this.count;
  }

  /** What the follower is known to hold in its current log epoch (0 while verifying). */
  confirmedMatch(): number {
    return this.verifying ? 0 : this.match;
  }

  /** A new leader knows nothing of this follower yet: probe it at `next`. */
  resetForTerm(next: number): void {
    this.match = 0;
    this.recentActive = false;
    this.epoch = -1;
    this.verifying = false;
    this.sentCommit = 0;
    this.becomeProbe();
    this.next = next;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.count >= this.capacity;
      case 'reset':
        return this.probeSent;
      default:
        return true;
    }
  }

  becomeProbe(): void {
    this.transfer = null;
    this.state = 'probe';
    this.next = this.match + 1;
    this.probeSent = false;
    this.start = 0;
    this.count = 0;
  }

  becomeReplicate(): void {
    this.transfer = null;
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.start = 0;
    this.count = 0;
  }

  becomeReset(at: LogStartPoint, snapshot: AppSnapshot): void {
    this.state = 'reset';
    this.transfer = { at, snapshot, offset: 0 };
    this.probeSent = false;
    this.start = 0;
    this.count = 0;
  }

  becomeCatchUp(from: number): void {
    this.transfer = null;
    this.state = 'catchUp';
    this.catchUpFrom = from;
    this.probeSent = false;
    this.start = 0;
    this.count = 0;
  }

  /** An acknowledgement of `index`; returns true if match advanced. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    if (this.next < index + 1) this.next = index + 1;
    return updated;
  }

  /**
   * A rejection of an append whose prevIndex was `rejected`; `hint` is the
   * index the leader computed from the follower's conflict hint. Returns false
   * if the rejection is stale.
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  addInflight(lastIndex: number): void {
    const cap = this.capacity;
    let slot = this.start + this.count;
    if (slot >= cap) slot -= cap;
    this.ring[slot] = lastIndex;
    this.count++;
  }

  /** Frees every in-flight message whose last index is <= index. */
  freeLE(index: number): void {
    const cap = this.capacity;
    while (this.count > 0 && (this.ring[this.start] as number) <= index) {
      this.start++;
      if (this.start === cap) this.start = 0;
      this.count--;
    }
  }

  freeFirst(): void {
    if (this.count === 0) return;
    this.start++;
    if (this.start === this.capacity) this.start = 0;
    this.count--;
  }

  status(): ProgressStatus {
    const t = this.transfer;
    const st: ProgressStatus = {
      match: this.match,
      next: this.next,
      state: this.state,
      inflight: this.count,
      recentActive: this.recentActive,
      epoch: this.epoch,
      verifying: this.verifying,
    };
    if (t !== null) st.reset = { index: t.at.index, snapshotOffset: t.offset, snapshotSize: t.snapshot.data.byteLength };
    return st;
  }
}
