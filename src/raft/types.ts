/**
 * Types shared by the Raft core, its storage interface and its drivers.
 * Nothing here imports anything outside src/raft/.
 */

/** Entry types; the numbers are the on-disk `type` byte (docs/FORMAT.md). */
export const EntryType = {
  Normal: 1,
  Noop: 2,
  Config: 3,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

/**
 * One log entry. `data` is opaque to the core. Entry objects are passed by
 * reference: the object created by propose() (or decoded by the transport) is
 * the very object found in Ready.entries and in outgoing append messages, so a
 * driver may attach extra fields to it (e.g. its encoded on-disk record) and
 * find them again. The core never mutates an entry after creating it.
 */
export interface Entry {
  index: number;
  term: number;
  type: EntryType;
  data: Uint8Array;
}

/** Bytes an entry counts for in batching limits: data.byteLength + this. */
export const ENTRY_OVERHEAD_BYTES = 48;

/** Node ids are non-empty strings. '' means "none". */
export type NodeId = string;
export const NONE: NodeId = '';

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** What must be persisted (atomically) to survive a restart. */
export interface HardState {
  term: number;
  /** Who this node voted for in `term`; '' if nobody. */
  vote: NodeId;
  /**
   * A commit index that is safe to persist: it never exceeds this node's
   * durable, leader-verified log, so after a restart it never points at an
   * entry the disk does not hold. Persisting it is optional (see docs/RAFT.md).
   */
  commit: number;
}

export interface SoftState {
  role: Role;
  /** Current leader as far as this node knows; '' if unknown. */
  leader: NodeId;
  term: number;
}

// ---------------------------------------------------------------- messages

/**
 * Fields every message has. `waitForHardState` / `waitForDurableIndex` are
 * local delivery annotations set by the core on outgoing messages; they are
 * never part of the wire format (a codec must neither encode nor expect them).
 */
interface MessageBase {
  from: NodeId;
  to: NodeId;
  term: number;
  /** Hold this message until the hard state of the Ready that carried it is durable. */
  waitForHardState?: boolean;
  /** Hold this message until the log is durable through this index (same Ready or earlier writes). */
  waitForDurableIndex?: number;
}

/** AppendEntries. Also used with no entries to carry the commit index / probe. */
export interface AppendMessage extends MessageBase {
  type: 'append';
  prevIndex: number;
  prevTerm: number;
  entries: Entry[];
  commit: number;
  /**
   * Set by a leader on an append with no entries to a follower in replicate state that has
   * confirmed everything through prevIndex: the append only carries the commit index, and
   * an answer would tell the leader nothing. The follower answers only a rejection (or an
   * acceptance beyond what it has acknowledged to this leader). Heartbeats still carry its
   * liveness and log epoch.
   */
  commitOnly?: true;
}

export interface AppendResponseMessage extends MessageBase {
  type: 'appendResp';
  /** Accepted: the follower's log is durable and matches the leader through `index`. Rejected: the prevIndex that was rejected. */
  index: number;
  reject: boolean;
  /** On reject: the largest index <= min(prevIndex, lastIndex) whose term is <= the leader's prevTerm. */
  rejectHint: number;
  /** On reject: the follower's term at rejectHint (0 if unknown). */
  hintTerm: number;
  /** The sender's log epoch (RaftConfig.logEpoch; docs/RAFT.md, "Log epochs"). */
  epoch: number;
}

export interface HeartbeatMessage extends MessageBase {
  type: 'heartbeat';
  /** min(leader commit, follower match): never past what the follower is known to hold. */
  commit: number;
  /** Read round this heartbeat confirms (src/raft/read-only.ts); absent when no read is pending. */
  readSeq?: number;
}

export interface HeartbeatResponseMessage extends MessageBase {
  type: 'heartbeatResp';
  /** The sender's log epoch (RaftConfig.logEpoch): tells an idle leader that the follower restarted. */
  epoch: number;
  /** Echo of the heartbeat's readSeq; absent when the heartbeat had none. */
  readSeq?: number;
}

export interface VoteMessage extends MessageBase {
  /** 'preVote' carries term = candidate's term + 1 without the candidate having bumped it. */
  type: 'vote' | 'preVote';
  lastIndex: number;
  lastTerm: number;
  /** Set for elections started by a leadership transfer: bypasses the leader lease. */
  transfer: boolean;
}

export interface VoteResponseMessage extends MessageBase {
  type: 'voteResp' | 'preVoteResp';
  reject: boolean;
}

export interface TimeoutNowMessage extends MessageBase {
  type: 'timeoutNow';
}

/**
 * Catch-up beyond the leader's first index (docs/RAFT.md, "Log start"): the
 * follower's log is to restart after (index, logTerm), the boundary before the
 * leader's first retained entry, whose first byte is at `pos` in the leader's
 * log. Carries one chunk [offset, offset + chunk.byteLength) of the optional
 * application snapshot (`snapshotSize` bytes in all, identified by
 * `snapshotVersion`); a snapshot of 0 bytes travels as one empty chunk.
 */
export interface LogStartMessage extends MessageBase {
  type: 'logStart';
  index: number;
  logTerm: number;
  pos: number;
  snapshotVersion: number;
  snapshotSize: number;
  offset: number;
  chunk: Uint8Array;
  /** The leader's committed configuration, a Config entry body (docs/RAFT.md, "Membership change"); absent from older senders. */
  conf?: Uint8Array;
  /**
   * Not set by the core: the replica attaches its committed producer base to the last chunk
   * (exactly-once appends, docs/FORMAT.md "Producer table file"); absent from older senders.
   */
  producers?: Uint8Array;
}

/**
 * The follower's answer to a logStart: `offset` is how many snapshot bytes it
 * holds for (index, snapshotVersion); `done` once its log was reset durably
 * (or needed no reset: it already holds the boundary or starts past it).
 */
export interface LogStartResponseMessage extends MessageBase {
  type: 'logStartResp';
  index: number;
  snapshotVersion: number;
  offset: number;
  done: boolean;
  epoch: number;
}

export type Message =
  | AppendMessage
  | AppendResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | VoteMessage
  | VoteResponseMessage
  | TimeoutNowMessage
  | LogStartMessage
  | LogStartResponseMessage;

export type MessageType = Message['type'];

/** A follower's answer to its leader: what makes the leader count it active (check-quorum, lease). */
export type FollowerAnswer = AppendResponseMessage | HeartbeatResponseMessage | LogStartResponseMessage;

export function isFollowerAnswer(m: Message): m is FollowerAnswer {
  return m.type === 'appendResp' || m.type === 'heartbeatResp' || m.type === 'logStartResp';
}

// ---------------------------------------------------------------- ready

/** The leader needs entries a follower lacks that are below the storage's firstIndex. */
export interface CatchUpRequest {
  peer: NodeId;
  /** The first index the follower needs (it holds everything before it). */
  fromIndex: number;
}

/** Where a follower's log restarts (the leader's log-start boundary). */
export interface LogStartPoint {
  /** The last index before the new log: the next entry is index + 1. */
  index: number;
  /** Term of `index` (for the log-matching check of the next append). */
  term: number;
  /** Byte position of entry index + 1 in the log (opaque to the core). */
  pos: number;
}

/** Follower: reset the log to start after `at`, then install `snapshot` (docs/RAFT.md, "Log start"). */
export interface LogReset {
  at: LogStartPoint;
  /** The application snapshot (possibly empty). */
  snapshot: Uint8Array;
  /** The configuration in force after the reset (a Config entry body), to persist with it and pass back as RaftConfig.configuration. */
  conf?: Uint8Array;
}

/** The application snapshot a leader sends with a log start (RaftConfig.appSnapshot). */
export interface AppSnapshot {
  /** Changes whenever the bytes change (a follower resumes only the same version). */
  version: number;
  data: Uint8Array;
}

/** A confirmed read (RaftCore.readIndex): serve it once applied through `index`. */
export interface ReadState {
  /** The driver's context number given to readIndex(). */
  ctx: number;
  /** The commit index at the time of the request; >= everything committed before it. */
  index: number;
}

/** Output of the core; see the driver contract in docs/RAFT.md. */
export interface Ready {
  /** Role/leader/term, when any of them changed since the last Ready; else null. */
  softState: SoftState | null;
  /** Hard state to persist, when it changed since the last Ready; else null. */
  hardState: HardState | null;
  /** True when term or vote changed: the hard state must be durable before the
   *  entries of this Ready are reported durable and before messages tagged
   *  waitForHardState are sent. False for a commit-only change (may be lazy). */
  hardStateMustSync: boolean;
  /** Entries to write, in order. If entries[0].index <= the last index already
   *  written, first truncate the log from entries[0].index, then append. */
  entries: readonly Entry[];
  /** Messages to send. Untagged ones may go at once; tagged ones wait (see MessageBase). */
  messages: readonly Message[];
  /** Newly committed entries the application may apply, inclusive range; null if none.
   *  Always within the durable log, so they can be read back from LogStorage. */
  committed: { from: number; to: number } | null;
  /** Followers that need entries below LogStorage.firstIndex() (no snapshot support yet). */
  needsCatchUp: readonly CatchUpRequest[];
  /** Follower: reset the log durably (and install the snapshot) before sending this Ready's messages; else null. */
  logReset: LogReset | null;
  /** Confirmed reads (leader); serve each once applied through its index. */
  readStates: readonly ReadState[];
  /** Contexts of reads dropped unconfirmed because this node stopped being leader: answer "retry". */
  droppedReads: readonly number[];
}

// ---------------------------------------------------------------- status

export type ProgressState = 'probe' | 'replicate' | 'catchUp' | 'reset';

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  inflight: number;
  recentActive: boolean;
  /** The follower's log epoch as last heard in this term; -1 before its first answer. */
  epoch: number;
  /** The follower stated a new log epoch and has not yet confirmed `match` in it (docs/RAFT.md, "Log epochs"). */
  verifying: boolean;
  /** reset state: the log start being sent and the snapshot bytes the follower holds. */
  reset?: { index: number; snapshotOffset: number; snapshotSize: number };
}

export interface RaftStatus {
  id: NodeId;
  role: Role;
  term: number;
  vote: NodeId;
  leader: NodeId;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  durableIndex: number;
  firstIndex: number;
  transferee: NodeId;
  /** Per-peer replication progress; only on the leader (empty otherwise). */
  progress: Record<NodeId, ProgressStatus>;
}

// ---------------------------------------------------------------- errors

export type RefusalCode =
  | 'ERR_NOT_LEADER'
  | 'ERR_TRANSFER_IN_PROGRESS'
  /** Membership change (docs/RAFT.md, "Membership change"); the first two are retriable. */
  | 'ERR_CONF_CHANGE_IN_FLIGHT'
  | 'ERR_NOT_COMMITTED_IN_TERM'
  | 'ERR_LEARNER_BEHIND'
  | 'ERR_LAST_VOTER'
  | 'ERR_CONF_CHANGE_INVALID';

/** Thrown by propose(), transferLeadership() and proposeConfChange() when the node cannot act. */
export class RaftRefusal extends Error {
  readonly code: RefusalCode;
  /** Best known leader ('' if unknown). */
  readonly leader: NodeId;
  /** Trying again later (or at `leader`) may succeed. */
  readonly retriable: boolean;
  constructor(code: RefusalCode, leader: NodeId, message: string, retriable = true) {
    super(message);
    this.name = 'RaftRefusal';
    this.code = code;
    this.leader = leader;
    this.retriable = retriable;
  }
}
