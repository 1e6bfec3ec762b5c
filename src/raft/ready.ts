/**
 * The Ready half of the driver contract (docs/RAFT.md, "The driver contract"):
 * the messages and catch-up requests the core queued since the last Ready,
 * what the last Ready told the driver (so the next one carries only what
 * changed), and the Ready the driver has not yet advance()d.
 *
 * Invariants: at most one Ready is outstanding; a Ready's hard state commits
 * nothing past the durable log (hsCommit = min(committed, durable)), and its
 * committed range is within that hard-state commit.
 */
import type { RaftLog } from './log.js';
import type { CatchUpRequest, HardState, LogReset, Message, NodeId, ReadState, Ready, Role, SoftState } from './types.js';

const NO_MESSAGES: Message[] = [];
const NO_CATCHUPS: CatchUpRequest[] = [];

/** The core's state a Ready reports (RaftCore's accessors). */
export interface ReadyCore {
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leader: NodeId;
}

/** The follower's completed log start (follower.ts). */
interface LogResetSource {
  readonly logReset: LogReset | null;
  takeLogReset(): LogReset | null;
}

/** Confirmed and dropped reads (read-only.ts). */
interface ReadSource {
  hasOutput(): boolean;
  takeStates(): readonly ReadState[];
  takeDropped(): readonly number[];
}

export class ReadyTracker {
  #msgs: Message[] = [];
  #catchUps: CatchUpRequest[] = [];
  #prevHs: HardState;
  #prevSs: SoftState;
  #outstanding: Ready | null = null;
  readonly #log: RaftLog;
  readonly #follower: LogResetSource;
  readonly #reads: ReadSource;

  constructor(log: RaftLog, follower: LogResetSource, reads: ReadSource, hs: HardState, ss: SoftState) {
    this.#log = log;
    this.#follower = follower;
    this.#reads = reads;
    this.#prevHs = hs;
    this.#prevSs = ss;
  }

  /** A Ready was handed out and not yet advance()d. */
  get outstanding(): boolean { return this.#outstanding !== null; }

  send(m: Message): void { this.#msgs.push(m); }

  catchUp(req: CatchUpRequest): void { this.#catchUps.push(req); }

  /** Something for the driver: output queued, or state changed since the last Ready. */
  hasOutput(core: ReadyCore): boolean {
    const log = this.#log;
    if (this.#reads.hasOutput() || this.#msgs.length > 0 || this.#catchUps.length > 0 || this.#follower.logReset !== null || log.inProgress < log.lastIndex()) return true;
    const hsCommit = log.committed < log.durable ? log.committed : log.durable;
    if (hsCommit > log.applying) return true;
    const hs = this.#prevHs;
    if (hs.term !== core.term || hs.vote !== core.vote || hs.commit !== hsCommit) return true;
    const ss = this.#prevSs;
    return ss.role !== core.role || ss.leader !== core.leader || ss.term !== core.term;
  }

  /** Hands out the next Ready (the caller checked hasOutput) and makes it the outstanding one. */
  take(core: ReadyCore): Ready {
    const log = this.#log;
    const hsCommit = log.committed < log.durable ? log.committed : log.durable;

    let softState: SoftState | null = null;
    const ss = this.#prevSs;
    if (ss.role !== core.role || ss.leader !== core.leader || ss.term !== core.term) {
      softState = { role: core.role, leader: core.leader, term: core.term };
      this.#prevSs = softState;
    }
    let hardState: HardState | null = null;
    let mustSync = false;
    const hs = this.#prevHs;
    if (hs.term !== core.term || hs.vote !== core.vote || hs.commit !== hsCommit) {
      mustSync = hs.term !== core.term || hs.vote !== core.vote;
      hardState = { term: core.term, vote: core.vote, commit: hsCommit };
      this.#prevHs = hardState;
    }
    let committed: Ready['committed'] = null;
    if (hsCommit > log.applying) {
      committed = { from: log.applying + 1, to: hsCommit };
      log.applying = hsCommit;
    }
    const rd: Ready = {
      softState,
      hardState,
      hardStateMustSync: mustSync,
      entries: log.takeUnsent(),
      messages: this.#msgs.length === 0 ? NO_MESSAGES : this.#msgs,
      committed,
      needsCatchUp: this.#catchUps.length === 0 ? NO_CATCHUPS : this.#catchUps,
      logReset: this.#follower.takeLogReset(),
      readStates: this.#reads.takeStates(),
      droppedReads: this.#reads.takeDropped(),
    };
    if (this.#msgs.length > 0) this.#msgs = [];
    if (this.#catchUps.length > 0) this.#catchUps = [];
    this.#outstanding = rd;
    return rd;
  }

  /** The driver finished handling `rd` (entries written, committed range applied). */
  advance(rd: Ready): void {
    if (rd !== this.#outstanding) throw new Error('raft: advance() with a Ready that is not the outstanding one');
    this.#outstanding = null;
    if (rd.committed !== null && rd.committed.to > this.#log.applied) this.#log.applied = rd.committed.to;
  }
}
