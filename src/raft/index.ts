/**
 * raftledger's Raft core: a pure, deterministic state machine in the style of
 * etcd-io/raft. It performs no I/O, reads no clock and draws no randomness of
 * its own (election jitter comes from an injected seeded generator). The
 * application (the "driver": the replica, the simulator, a test) does all I/O.
 *
 * DRIVER CONTRACT (details and rationale in docs/RAFT.md)
 *
 * Inputs, each synchronous and allowed at any time between Readies:
 *   tick()                         every tickMs (10 ms for the defaults)
 *   step(msg)                      every message received from a peer
 *   propose(payloads, type?)       leader only; returns the first index or throws RaftRefusal
 *   campaign(), transferLeadership(to)
 *   markDurable(index, term)       after a flush: the log on disk ends at (index, term)
 *
 * Loop: while (core.hasReady()) { const rd = core.ready()!; ...; core.advance(rd) }.
 * For each Ready, in this order:
 *   1. rd.hardState (if not null): write it. If rd.hardStateMustSync (term or
 *      vote changed) it must be durable before (a) any message of this Ready
 *      tagged waitForHardState is sent and (b) markDurable() reports any entry
 *      of this or a later Ready. A commit-only change may be persisted lazily
 *      or not at all (hardState.commit never points past durable entries).
 *   2. rd.entries: write them to the log. If entries[0].index <= the last
 *      index written, first truncate the log from entries[0].index. After this
 *      step LogStorage must serve them (entries/term) — the core only reads
 *      storage below its in-memory unstable part, so a driver whose writes are
 *      visible immediately (mmap, memory) needs nothing more. Start the flush
 *      (group commit is fine) without waiting for it.
 *   3. rd.messages: send every message that has neither waitForHardState nor
 *      waitForDurableIndex at once (this includes the leader's appends, which
 *      go out in parallel with its own write). Hold tagged ones until the hard
 *      state of this Ready is durable (waitForHardState) / the log is durable
 *      through waitForDurableIndex, then send them. Messages may be dropped,
 *      delayed, duplicated or reordered by the network: the core copes.
 *   4. rd.committed {from, to} (inclusive): apply those entries, read from
 *      storage (they are always already durable locally).
 *   5. rd.needsCatchUp: peers that need entries below storage.firstIndex();
 *      no snapshot transfer exists yet, so log/alert (see docs/RAFT.md).
 *   6. rd.softState: role/leader/term changes, for status and notifications.
 *   7. core.advance(rd).
 * When a flush completes: core.markDurable(lastIndexOnDisk, itsTerm), then
 * run the Ready loop again (durability can commit entries on the leader and
 * releases follower acknowledgements, which the core emits only for durable
 * entries). Then release held messages whose condition is now met.
 *
 * Entries are passed by reference: the objects from propose() (or decoded
 * from an append by the transport) are the ones in Ready.entries and in
 * outgoing appends, so the driver may attach fields (e.g. encoded bytes).
 */
export { RaftCore, DEFAULT_TICK_MS, resolveConfig, type RaftConfig } from './raft.js';
export { MemoryStorage, entrySize, type LogStorage } from './storage.js';
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
  type Ready,
  type CatchUpRequest,
  type ProgressState,
  type ProgressStatus,
  type RaftStatus,
  type RefusalCode,
} from './types.js';
