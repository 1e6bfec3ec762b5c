/**
 * Consistency levels of the Ledger's reads (issue 15; README "Consistency levels"):
 *
 * - 'linearizable': ReadIndex through the Raft core (src/raft/read-only.ts): the
 *   leader confirms with a heartbeat round to a quorum; the answer is the commit
 *   index once this replica has applied through the confirmed index.
 * - 'lease': the core's lease read (no round while the check-quorum lease holds;
 *   clock assumption in read-only.ts).
 * - 'follower': any replica answers from its own commit index, refusing with a
 *   retriable ERR_UNAVAILABLE if it is not leader and has not heard from a
 *   leader within maxLagMs. Committed entries never change, so entries at or
 *   below this replica's commit index are correct from any replica.
 *
 * A non-leader refuses 'linearizable' and 'lease' with ERR_NOT_LEADER (and a
 * leader hint); a read not confirmed within timeoutMs is ERR_TIMEOUT; a read
 * pending when leadership is lost is ERR_NOT_LEADER. All of them retriable.
 */
import { RaftLedgerError } from '../errors.js';
import { RaftRefusal, type Message, type Ready } from '../raft/index.js';

export type Consistency = 'linearizable' | 'lease' | 'follower';
export const CONSISTENCY_LEVELS: readonly Consistency[] = ['linearizable', 'lease', 'follower'];
export const DEFAULT_MAX_LAG_MS = 5000;

/** Validates a consistency option (TypeError/RangeError for API misuse). */
export function checkConsistency(what: string, value: unknown, fallback: Consistency): Consistency {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(CONSISTENCY_LEVELS as readonly string[]).includes(value)) {
    throw new RangeError(`${what}: consistency must be one of ${CONSISTENCY_LEVELS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as Consistency;
}

/** A read's consistency options (TypeError/RangeError for misuse); 'linearizable' by default. */
export function checkReadOptions(what: string, options: unknown): { consistency: Consistency; maxLagMs: number } {
  if (options === null || typeof options !== 'object') throw new TypeError(`${what}: options must be an object`);
  const o = options as { consistency?: unknown; maxLagMs?: unknown };
  const consistency = checkConsistency(what, o.consistency, 'linearizable');
  const maxLagMs = o.maxLagMs ?? DEFAULT_MAX_LAG_MS;
  if (typeof maxLagMs !== 'number' || !Number.isSafeInteger(maxLagMs) || maxLagMs < 1) {
    throw new RangeError(`${what}: maxLagMs must be a positive integer, got ${String(maxLagMs)}`);
  }
  return { consistency, maxLagMs };
}

/** What the gate needs from its Ledger. */
export interface ReadGateHost {
  readonly id: string;
  role(): string;
  leader(): string;
  /** The replica's applied commit index. */
  commitIndex(): number;
  readIndex(ctx: number, lease: boolean): void;
  /** Wake `fn` once at the next commit or at close. */
  waitForCommit(fn: () => void): void;
  notLeader(): RaftLedgerError;
  scheduleReady(): void;
  /** The error to fail a confirmed read that waits for entries to apply (closed or failed ledger); undefined while usable. */
  stopped(): Error | undefined;
}

interface Waiter {
  resolve: (index: number) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class ReadGate {
  readonly #h: ReadGateHost;
  readonly #waiting = new Map<number, Waiter>();
  #nextCtx = 1;
  /** When this replica last heard a leader (ms, Date.now()); 0: never. */
  #leaderHeardMs = 0;

  constructor(host: ReadGateHost) {
    this.#h = host;
  }

  /** How many reads wait for confirmation (status / tests). */
  get pending(): number {
    return this.#waiting.size;
  }

  /** Every message stepped into the core: appends and heartbeats from the leader refresh the follower lag. */
  observe(m: Message): void {
    if ((m.type === 'append' || m.type === 'heartbeat') && m.from === this.#h.leader()) this.#leaderHeardMs = Date.now();
  }

  /**
   * Resolves with a commit index safe for `consistency`: every entry at or below
   * it is committed, and for 'linearizable'/'lease' it is >= everything
   * committed anywhere before the call.
   */
  confirm(consistency: Consistency, options: { timeoutMs: number; maxLagMs: number }): Promise<number> {
    const h = this.#h;
    if (consistency === 'follower') {
      if (h.role() !== 'leader' && (h.leader() === '' || Date.now() - this.#leaderHeardMs > options.maxLagMs)) {
        return Promise.reject(
          new RaftLedgerError('ERR_UNAVAILABLE', `${h.id} has not heard from a leader within maxLagMs (${options.maxLagMs} ms); try another replica`),
        );
      }
      return Promise.resolve(h.commitIndex());
    }
    const ctx = this.#nextCtx++;
    try {
      h.readIndex(ctx, consistency === 'lease');
    } catch (error) {
      return Promise.reject(error instanceof RaftRefusal ? h.notLeader() : error);
    }
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(ctx);
        reject(new RaftLedgerError('ERR_TIMEOUT', `read not confirmed by a quorum within ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      this.#waiting.set(ctx, { resolve, reject, timer });
      h.scheduleReady();
    });
  }

  /** Ready.readStates / droppedReads, after the Ready's committed entries were applied. */
  onReady(rd: Ready): void {
    for (const rs of rd.readStates) {
      const w = this.#waiting.get(rs.ctx);
      if (w === undefined) continue;
      this.#waiting.delete(rs.ctx);
      clearTimeout(w.timer);
      this.#whenApplied(rs.index, w);
    }
    for (const ctx of rd.droppedReads) {
      const w = this.#waiting.get(ctx);
      if (w === undefined) continue;
      this.#waiting.delete(ctx);
      clearTimeout(w.timer);
      w.reject(this.#h.notLeader());
    }
  }

  /** The ledger closed or failed: every waiting read fails with `error`. */
  rejectAll(error: Error): void {
    for (const w of this.#waiting.values()) {
      clearTimeout(w.timer);
      w.reject(error);
    }
    this.#waiting.clear();
  }

  #whenApplied(index: number, w: Pick<Waiter, 'resolve' | 'reject'>): void {
    const stopped = this.#h.stopped();
    if (stopped !== undefined) {
      w.reject(stopped);
      return;
    }
    const c = this.#h.commitIndex();
    if (c >= index) {
      w.resolve(c);
      return;
    }
    this.#h.waitForCommit(() => this.#whenApplied(index, w));
  }
}
