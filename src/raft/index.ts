/**
 * raftledger's Raft core: a pure, deterministic state machine in the style of
 * etcd-io/raft. It performs no I/O, reads no clock and draws no randomness of
 * its own (election jitter comes from an injected seeded generator). The
 * application (the "driver": the replica, the simulator, a test) does all I/O.
 *
 * The driver contract (inputs, the Ready loop, durability, log epochs) is
 * written once, in docs/RAFT.md, "The driver contract".
 */
export { RaftCore, DEFAULT_TICK_MS, resolveConfig, type RaftConfig } from './raft.js';
export { MemoryStorage, entrySize, type LogStorage } from './storage.js';
export {
  applyConfChange,
  decodeConfiguration,
  encodeConfiguration,
  isLearner,
  isVoter,
  memberIds,
  voterDelta,
  type ConfChange,
  type ConfChangeType,
  type Configuration,
  type Member,
} from './conf-change.js';
export { mulberry32, randInt, deriveSeed, type Rng } from './prng.js';
export {
  EntryType,
  ENTRY_OVERHEAD_BYTES,
  NONE,
  RaftRefusal,
  type Entry,
  type NodeId,
  type Role,
  type HardState,
  type SoftState,
  type Message,
  type MessageType,
  type AppendMessage,
  type AppendResponseMessage,
  type HeartbeatMessage,
  type HeartbeatResponseMessage,
  type VoteMessage,
  type VoteResponseMessage,
  type TimeoutNowMessage,
  type LogStartMessage,
  type LogStartResponseMessage,
  type LogStartPoint,
  type LogReset,
  type AppSnapshot,
  type Ready,
  type ReadState,
  type CatchUpRequest,
  type ProgressState,
  type ProgressStatus,
  type RaftStatus,
  type RefusalCode,
} from './types.js';
