/**
 * The follower's side of replication (§5.3): what a leader's appends, heartbeats and log
 * starts do to this node's log, and the acknowledgements it owes. RaftCore owns one and
 * hands it those messages while follower (or candidate, after stepping down).
 *
 * Invariants: an acknowledgement never names an index above both the durable index and
 * `verified` (the highest index known to match the current leader's log); `acked` only
 * grows within one leader's term (RaftCore resets both at every term or role change).
 */
import type { RaftLog } from './log.js';
import { LogStartReceiver } from './log-start.js';
import type { DamageGuard } from './damage.js';
import type { AppendMessage, AppendResponseMessage, Entry, HeartbeatMessage, HeartbeatResponseMessage, LogReset, LogStartMessage, Message, NodeId } from './types.js';

/** What the follower's side needs from the core. */
export interface FollowerContext {
  readonly id: NodeId;
  /** Stated in every append and heartbeat answer (RaftConfig.logEpoch). */
  readonly logEpoch: number;
  term(): number;
  /** The current leader ('' if none). */
  leader(): NodeId;
  send(m: Message): void;
  /** Unrepaired damage caps the index a success acknowledges (damage.ts). */
  readonly damage?: DamageGuard;
  /** The log restarted at a log start carrying the leader's committed configuration (a Config entry body). */
  rebase(conf: Uint8Array): void;
}

export class FollowerReplication {
  readonly #ctx: FollowerContext;
  readonly #log: RaftLog;
  /** Highest index known to match the current leader's log. */
  #verified: number;
  /** Highest index acknowledged to the current leader. */
  #acked = 0;
  /** A log start being received, and a completed one the driver must apply (Ready.logReset). */
  readonly #logStart = new LogStartReceiver();
  #logReset: LogReset | null = null;

  constructor(ctx: FollowerContext, log: RaftLog, verified: number) {
    this.#ctx = ctx;
    this.#log = log;
    this.#verified = verified;
  }

  /** A completed log start the driver has not been handed yet. */
  get logReset(): LogReset | null {
    return this.#logReset;
  }

  /** Hand the completed log start to a Ready (once). */
  takeLogReset(): LogReset | null {
    const reset = this.#logReset;
    this.#logReset = null;
    return reset;
  }

  /** A new term: a partial log start belongs to one term's leader. */
  clearLogStart(): void {
    this.#logStart.clear();
  }

  /** A term or role change: nothing is verified beyond the commit index, nothing acknowledged. */
  reset(): void {
    this.#verified = this.#log.committed;
    this.#acked = 0;
  }

  appendResp(to: NodeId, index: number, reject: boolean, hint: number, hintTerm: number): AppendResponseMessage {
    const ctx = this.#ctx;
    return {
      type: 'appendResp',
      from: ctx.id,
      to,
      term: ctx.term(),
      index: reject || ctx.damage === undefined ? index : ctx.damage.reportedMatch(index),
      reject,
      rejectHint: hint,
      hintTerm,
      epoch: ctx.logEpoch,
    };
  }

  #sendAck(index: number): void {
    if (index > this.#acked) this.#acked = index;
    this.#ctx.send(this.appendResp(this.#ctx.leader(), index, false, 0, 0));
  }

  /** The durable index advanced (a follower with a leader): acknowledge what is durable and verified. */
  onDurable(): void {
    const a = Math.min(this.#log.durable, this.#verified);
    if (a > this.#acked) this.#sendAck(a);
  }

  handleHeartbeat(m: HeartbeatMessage): void {
    const log = this.#log;
    const ctx = this.#ctx;
    const c = m.commit < log.lastIndex() ? m.commit : log.lastIndex();
    log.commitTo(c);
    const r: HeartbeatResponseMessage = { type: 'heartbeatResp', from: ctx.id, to: m.from, term: ctx.term(), epoch: ctx.logEpoch };
    if (m.readSeq !== undefined) r.readSeq = m.readSeq; // echo: confirms a read round (read-only.ts)
    ctx.send(r);
  }

  /**
   * A chunk of a log start (docs/RAFT.md, "Log start"). Once complete and
   * needed, the log restarts after the boundary: the driver resets its storage
   * durably (Ready.logReset) before it sends the answer, which is in the same Ready.
   */
  handleLogStart(m: LogStartMessage): void {
    if (this.#logReset !== null) return; // one reset per Ready; the leader re-sends
    const { resp, reset } = this.#logStart.receive(this.#log, m, this.#ctx.logEpoch);
    if (reset !== null) {
      this.#log.resetTo(reset.at);
      if (m.conf !== undefined) {
        this.#ctx.rebase(m.conf);
        reset.conf = m.conf;
      }
      if (this.#verified < reset.at.index) this.#verified = reset.at.index;
      if (this.#acked < reset.at.index) this.#acked = reset.at.index;
      this.#logReset = reset;
    }
    if (resp !== null) this.#ctx.send(resp);
  }

  handleAppend(m: AppendMessage): void {
    const log = this.#log;
    if (m.prevIndex < log.committed) {
      // Stale or overlapping the committed prefix (which matches any leader's log).
      if (this.#verified < log.committed) this.#verified = log.committed;
      const a = Math.min(log.committed, log.durable);
      this.#sendAck(a);
      return;
    }
    const last = log.lastIndex();
    if (m.prevIndex > last || log.term(m.prevIndex) !== m.prevTerm) {
      const hi = m.prevIndex < last ? m.prevIndex : last;
      const h = log.findConflictByTerm(hi, m.prevTerm);
      this.#ctx.send(this.appendResp(m.from, m.prevIndex, true, h.index, h.term));
      return;
    }
    const ents = m.entries;
    const n = ents.length;
    const lastNew = m.prevIndex + n;
    if (n > 0) {
      let k = 0;
      if (m.prevIndex !== last) {
        // Skip entries we already have; stop at the first conflict or new one.
        while (k < n) {
          const e = ents[k] as Entry;
          if (e.index > last || log.term(e.index) !== e.term) break;
          k++;
        }
      }
      if (k < n) log.truncateAndAppend(ents, k);
    }
    if (this.#verified < lastNew) this.#verified = lastNew;
    log.commitTo(m.commit < lastNew ? m.commit : lastNew);
    if (m.commitOnly === true && lastNew <= this.#acked) return; // the leader knows (AppendMessage.commitOnly)
    if (lastNew <= log.durable) this.#sendAck(lastNew);
    // else: acknowledged by markDurable() once the disk has it
  }
}
