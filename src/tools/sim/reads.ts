/**
 * Reads in the simulator's schedule (src/raft/read-only.ts): now and then a
 * node that believes it is leader gets a ReadIndex or lease read; while two
 * nodes are in leader role the deposed one (lower term) gets most of them.
 * Invariants: a confirmed read's index is >= every index the cluster committed
 * before the read was issued (linearizability), and a read issued at a deposed
 * leader is never confirmed (its quorum's members have all moved to the later
 * term, and under the clock assumption its lease ran out before the election).
 * Lease reads rely on the lease clock assumption: every node ticks every
 * TICK_MS, no node campaigns before its election timer (leader stickiness holds),
 * and no message is delayed by more than the network's maxDelay (< heartbeatTicks).
 * The fault schedule breaks it on purpose (forced campaigns, the rare message
 * delayed up to 200 ms); a lease read issued less than an election timeout after
 * such an event is counted (stats.leaseUnchecked) but not checked, as a real
 * deployment promises nothing for it either. ReadIndex reads are always checked.
 */
import { RaftRefusal, type Ready } from '../../raft/index.js';
import type { Rng } from '../../raft/prng.js';
import type { DriverNode } from './driver.js';
import { Violation } from './invariants.js';

interface IssuedRead {
  node: string;
  /** The cluster's commit index when the read was issued. */
  clusterCommit: number;
  lease: boolean;
  /** Issued while the lease clock assumption held (always true for ReadIndex reads). */
  checked: boolean;
  /** Issued at a deposed leader: the node that led a later term then. */
  deposedBy: string | undefined;
  at: number;
}

export class SimReads {
  readonly #rng: Rng;
  readonly #issued = new Map<number, IssuedRead>();
  #nextCtx = 1;
  /** Virtual ms up to which the lease clock assumption is broken (see the file comment). */
  #clockBrokenUntilMs = 0;
  stats = { issued: 0, confirmed: 0, dropped: 0, leaseUnchecked: 0, deposedIssued: 0 };

  constructor(rng: Rng) {
    this.#rng = rng;
  }

  /** The lease clock assumption does not hold before `untilMs` (virtual ms): a forced campaign, a late message. */
  leaseClockBroken(untilMs: number): void {
    if (untilMs > this.#clockBrokenUntilMs) this.#clockBrokenUntilMs = untilMs;
  }

  /** Maybe issues reads on a random up node that is leader in its own eyes (then drains it). */
  maybeIssue(nodes: readonly DriverNode[], clusterCommit: number, now: number, tickMs: number): void {
    const r = this.#rng;
    const leaders = nodes.filter((n) => n.up && n.core !== null && n.core.role === 'leader');
    if (leaders.length < 2 && r() < 0.5) return;
    // A deposed leader (the lowest term of several in leader role) is where a read can be stale:
    // it gets most of the reads while it lasts.
    const target =
      leaders.length > 1 && r() < 0.75
        ? leaders.reduce((a, b) => (b.core!.term < a.core!.term ? b : a))
        : leaders[Math.floor(r() * leaders.length)];
    if (target === undefined || target.core === null) return;
    const deposedBy = leaders.find((n) => n.core!.term > target.core!.term)?.id;
    const count = 1 + Math.floor(r() * 3);
    for (let i = 0; i < count; i++) {
      const ctx = this.#nextCtx++;
      const lease = r() < (leaders.length > 1 ? 0.7 : 0.3);
      try {
        target.core.readIndex(ctx, lease);
      } catch (e) {
        if (!(e instanceof RaftRefusal)) throw e;
        continue;
      }
      const checked = !lease || now >= this.#clockBrokenUntilMs + target.core.settings.electionTicks * tickMs;
      this.#issued.set(ctx, { node: target.id, clusterCommit, lease, checked, deposedBy, at: now });
      this.stats.issued++;
      if (deposedBy !== undefined) this.stats.deposedIssued++;
    }
    target.drain();
  }

  /** Checks the read states of a Ready (before the driver handles it). */
  onReady(node: DriverNode, rd: Ready): void {
    for (const rs of rd.readStates) {
      const read = this.#issued.get(rs.ctx);
      if (read === undefined || read.node !== node.id) {
        throw new Violation(`${node.id} confirmed read ${rs.ctx} it was not asked for`);
      }
      this.#issued.delete(rs.ctx);
      if (!read.checked) {
        this.stats.leaseUnchecked++;
        continue;
      }
      const kind = read.lease ? 'lease' : 'ReadIndex';
      if (rs.index < read.clusterCommit) {
        throw new Violation(
          `${node.id} confirmed ${kind} read ${rs.ctx} (issued at ${read.at}ms) at index ${rs.index}, ` +
            `below ${read.clusterCommit}, committed before it was issued`,
        );
      }
      if (read.deposedBy !== undefined) {
        throw new Violation(`${node.id} confirmed ${kind} read ${rs.ctx} issued at ${read.at}ms while ${read.deposedBy} led a later term`);
      }
      this.stats.confirmed++;
    }
    for (const ctx of rd.droppedReads) {
      if (this.#issued.delete(ctx)) this.stats.dropped++;
    }
  }
}
