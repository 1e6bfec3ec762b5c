/**
 * Ledger: one replica of one Raft group. It drives the pure Raft core (src/raft) with
 * the segmented log (src/storage), a message link to its peers, and timers, following
 * the driver contract in src/raft/index.ts:
 *
 *  - every Ready: hard state saved (durably before vote replies when term/vote changed),
 *    entries written to the mapping (leader: encoded here; follower: the leader's record
 *    bytes verbatim, CRC-checked before the core ever saw them), messages sent or held
 *    until the disk has what they promise, committed entries settle waiting appends;
 *  - durability 'fsync': group commit; the core hears markDurable() only after the
 *    flush; followers acknowledge only flushed entries, the leader counts itself only
 *    for flushed entries. 'memory': entries count as stored once in the mapping and a
 *    background flush runs every memoryFlushIntervalMs;
 *  - a failed flush stops the replica (ERR_LOG_FAILED): it never serves with an unknown disk;
 *  - retention (retention.ts) removes old segments below the commit index, on a timer and
 *    after each segment roll; the core sees the new first index through LogStorage;
 *  - low free space (disk-space.ts): client appends are refused with ERR_NO_SPACE, entries
 *    beyond the log's end are not taken from the leader (so never acknowledged), no
 *    election is started and a leader hands leadership to another replica; reads, votes,
 *    heartbeats and truncation go on, and writes resume once a check finds space again.
 */
import { EventEmitter } from 'node:events';
import { RaftLedgerError, isRaftLedgerError, type LeaderHint } from '../errors.js';
import { EntryType, RaftCore, RaftRefusal, type Entry, type Message, type RaftStatus, type Ready, type Role } from '../raft/index.js';
import { SegmentedLog, joinRecords, verifyRecordCrcs, type LogEntry, type OnFlushed } from '../storage/index.js';
import type { LedgerEntry } from '../entry.js';
import { entryTypeOf } from '../transport/entry-types.js';
import { SegmentedLogStorage } from './log-adapter.js';
import { AppSnapshotCache, type AppSnapshotHooks } from './app-snapshot.js';
import { parseHostPort } from '../transport/address.js';
import { DEFAULT_CLUSTER_ID, GroupSet } from './group-set.js';
import { normalizePeers, type PeersInput } from './peers.js';
import { PendingAppends, type AppendAck } from './pending.js';
import { everyMs } from './shared-interval.js';
import { LedgerStats, type LedgerStatsSnapshot, type TransportSnapshot } from './ledger-stats.js';
import type { RetentionPolicy } from './retention.js';
import { DEFAULT_SPACE_CHECK_INTERVAL_MS } from './disk-space.js';
import { LogLifecycle } from './lifecycle.js';

export type Durability = 'fsync' | 'memory';

/** Where the core's messages go; the Ledger receives with `receive()`. */
export interface RaftLink {
  send(message: Message): void;
  /** The link's transport counters, for status() (a GroupSet's link has them). */
  transportStats?(): TransportSnapshot;
}

export interface LedgerCoreOptions {
  dir: string;
  id: string;
  /** Ids of every voting member, including `id`. */
  members: readonly string[];
  /** Where each member's clients connect (for ERR_NOT_LEADER hints). */
  clientAddresses?: Readonly<Record<string, string>>;
  link: RaftLink;
  group?: number;
  /** The cluster stored in (and checked against) the log directory's owner with id and group (default DEFAULT_CLUSTER_ID). */
  clusterId?: string;
  durability?: Durability;
  tickMs?: number;
  heartbeatTicks?: number;
  electionTicks?: number;
  segmentSizeBytes?: number;
  maxEntrySizeBytes?: number;
  /** Entries waiting for a verdict beyond which append() rejects with ERR_OVERLOADED (default 100000). */
  maxPendingAppends?: number;
  /** How long append() waits for a verdict before ERR_TIMEOUT (default 10000 ms). */
  appendTimeoutMs?: number;
  /** Background flush period in 'memory' mode (default 5 ms). */
  memoryFlushIntervalMs?: number;
  /** Minimum time between saves of a commit-only hard-state change (default 200 ms). */
  commitSaveIntervalMs?: number;
  /** Max bytes per AppendEntries (default 1 MiB) and entries per message (default 512). */
  maxBytesPerMessage?: number;
  maxEntriesPerMessage?: number;
  maxInflightMessages?: number;
  seed?: number;
  /** Diagnostic lines (recovery notes, dropped frames, catch-up needs). */
  onLog?: (line: string) => void;
  /** TEST-ONLY: passed to SegmentedLog.open (see SegmentedLogOptions.onFlushed). */
  onFlushed?: OnFlushed;
  /** An application snapshot sent with log starts (docs/RAFT.md, "Log start"; src/replica/app-snapshot.ts). */
  snapshot?: AppSnapshotHooks;
  /** Retention of old segments (retention.ts); default: keep everything. */
  retention?: RetentionPolicy;
  /** Free bytes on the log's filesystem below which writes are refused (default 2 x segment size + 64 MiB; 0: never). */
  minFreeBytes?: number;
  /** How often free space is measured besides after each segment roll (default 1000 ms). */
  spaceCheckIntervalMs?: number;
  /** TEST-ONLY: measures free bytes instead of statfs on the log's filesystem. */
  measureFreeBytes?: () => number;
}

/**
 * Ledger.open with its own TCP transport: `peers` names every member (this one included)
 * with its Raft address ('host:port'), and optionally its client address for
 * ERR_NOT_LEADER hints ('host:port/clientPort' or { raft, client }); the same forms as
 * LedgerHost.open and the server's --peers (src/replica/peers.ts normalizePeers). The Ledger listens on its own Raft address and closes the
 * transport when it closes.
 */
export type LedgerOptions = Omit<LedgerCoreOptions, 'members' | 'link' | 'clientAddresses'> & {
  peers: PeersInput;
  /** Peers of another cluster id are refused at the handshake (default DEFAULT_CLUSTER_ID, 'raftledger'). */
  clusterId?: string;
};

export interface FollowerStatus {
  match: number;
  next: number;
  state: string;
  lag: number;
  /** Bytes of log between the follower's match and the leader's write position (absent when match is below the first index). */
  lagBytes?: number;
  active: boolean;
  /** Being caught up beyond this log's first index: 'reset' (a log start is being sent) or 'stranded' (no log start possible). */
  catchUp?: 'reset' | 'stranded';
  /** reset state: the log start being sent and the snapshot bytes the follower holds. */
  reset?: { index: number; snapshotOffset: number; snapshotSize: number };
}

export interface LedgerStatus {
  id: string;
  group: number;
  role: Role;
  term: number;
  leader: string;
  leaderAddress?: string;
  firstIndex: number;
  /** pos of the first retained entry (the write position when the log holds none). */
  firstPos: number;
  lastIndex: number;
  commitIndex: number;
  durableIndex: number;
  durability: Durability;
  pendingAppends: number;
  /** Bytes the segment files take on disk (full-size files, the preallocated spare included). */
  diskBytes: number;
  /** Bytes from the first segment's start to the write position. */
  logBytes: number;
  /** Free bytes on the log's filesystem at the last check, and whether writes are refused for it. */
  freeBytes: number;
  noSpace: boolean;
  /** Only on the leader. */
  followers: Record<string, FollowerStatus>;
  /** Counters and latency histograms for metrics (ledger-stats.ts). */
  stats: LedgerStatsSnapshot;
  /** The transport this group sends through (shared by the groups of its GroupSet). */
  transport?: TransportSnapshot;
}

export interface LedgerEvents {
  role: [role: Role, term: number];
  leader: [leader: string, term: number];
  commit: [commitIndex: number];
  error: [error: Error];
}

interface HeldMessage {
  message: Message;
  hardStateSeq: number;
  durableIndex: number;
}

function positive(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw new RangeError(`${name} must be a number >= ${min}, got ${String(value)}`);
  return value;
}

export class Ledger extends EventEmitter<LedgerEvents> {
  readonly id: string;
  readonly group: number;
  readonly durability: Durability;
  readonly tickMs: number;

  readonly #log: SegmentedLog;
  readonly #core: RaftCore;
  readonly #link: RaftLink;
  readonly #clientAddresses: Readonly<Record<string, string>>;
  readonly #pending = new PendingAppends((latencyMs) => this.#stats.commitLatency.observe(latencyMs / 1000));
  readonly #maxPending: number;
  readonly #appendTimeoutMs: number;
  readonly #commitSaveIntervalMs: number;
  readonly #logLine: (line: string) => void;
  /** Unsubscribe functions of this ledger's shared timers (tick, background flush). */
  readonly #timers: Array<() => void> = [];

  #held: HeldMessage[] = [];
  #hardStateSeq = 0;
  #hardStateDurableSeq = 0;
  #hardStateBarrier: Promise<void> = Promise.resolve();
  #durableIndex: number;
  #commitIndex: number;
  #readyScheduled = false;
  #processing = false;
  #flushWanted = false;
  #flushRunning = false;
  #commitToSave = -1;
  #lastCommitSaveMs = 0;
  #commitWaiters: Array<() => void> = [];
  #failed: Error | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #catchUpLoggedAt = new Map<string, number>();
  #lastRole: Role = 'follower';
  /** The group set of one (its TCP transport) that Ledger.open({ peers }) created; closed with the ledger. */
  #ownedSet: GroupSet<Ledger> | undefined;
  /** index -> pos of normal entries this node wrote as leader while appends waited (see #applyCommitted). */
  readonly #ownPositions = new Map<number, number>();
  #lastLeader = '';
  readonly #stats = new LedgerStats();
  /** A follower's log reset (Ready.logReset) in progress: no Ready is handled until it is done. */
  #resetRunning = false;
  readonly #snapshot: AppSnapshotCache | undefined;
  /** Retention and the free-space guard (lifecycle.ts). */
  readonly #lifecycle: LogLifecycle;
  /** Segment number of the last written byte, to notice rolls. */
  #writeSegment: number;
  /**
   * Entries the core handed over that the log refused for lack of space (ERR_NO_SPACE,
   * raised before anything of that run was written), in index order; retried after each
   * space check. The core learns of entries only through markDurable of what the log
   * holds, so none of these is acknowledged or counted toward a commit meanwhile.
   */
  #unwritten: Entry[] = [];

  private constructor(options: LedgerCoreOptions, log: SegmentedLog) {
    super();
    this.id = options.id;
    this.group = options.group ?? 0;
    this.durability = options.durability ?? 'fsync';
    this.tickMs = positive('tickMs', options.tickMs, 10);
    this.#log = log;
    this.#link = options.link;
    this.#clientAddresses = options.clientAddresses ?? {};
    this.#maxPending = positive('maxPendingAppends', options.maxPendingAppends, 100_000);
    this.#appendTimeoutMs = positive('appendTimeoutMs', options.appendTimeoutMs, 10_000);
    this.#commitSaveIntervalMs = positive('commitSaveIntervalMs', options.commitSaveIntervalMs, 200, 0);
    this.#logLine = options.onLog ?? (() => {});
    this.#writeSegment = Math.floor(log.writePos / log.segmentSizeBytes);
    const storage = new SegmentedLogStorage(log, { trustPersistedCommit: this.durability === 'fsync' });
    this.#snapshot = options.snapshot === undefined ? undefined : new AppSnapshotCache(options.snapshot, (e) => this.#logLine(`[${options.id}] snapshot.provide() failed: ${(e as Error).message}`));
    this.#snapshot?.refresh();
    const snapshot = this.#snapshot;
    this.#core = new RaftCore({
      ...(snapshot !== undefined ? { appSnapshot: () => snapshot.current() } : {}),
      id: options.id,
      peers: options.members,
      storage,
      // A new log epoch at every open (docs/RAFT.md, "Log epochs"): after a restart that may
      // have lost acknowledged entries (memory mode, --repair, a wiped directory) the leader
      // re-checks what it believed about this replica's log instead of trusting old acks.
      logEpoch: Date.now(),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.heartbeatTicks !== undefined ? { heartbeatTicks: options.heartbeatTicks } : {}),
      ...(options.electionTicks !== undefined ? { electionTicks: options.electionTicks } : {}),
      ...(options.maxBytesPerMessage !== undefined ? { maxBytesPerMessage: options.maxBytesPerMessage } : {}),
      ...(options.maxEntriesPerMessage !== undefined ? { maxEntriesPerMessage: options.maxEntriesPerMessage } : {}),
      ...(options.maxInflightMessages !== undefined ? { maxInflightMessages: options.maxInflightMessages } : {}),
    });
    this.#durableIndex = log.flushedIndex;
    this.#commitIndex = storage.hardState().commit;
    // Everything recovered is durable (open flushed it); tell the core.
    if (log.lastIndex >= log.firstIndex) this.#core.markDurable(log.lastIndex, log.lastTerm);
    this.#lifecycle = new LogLifecycle(
      {
        id: this.id,
        log,
        core: this.#core,
        commitIndex: () => this.#commitIndex,
        durableIndex: () => this.#durableIndex,
        stopped: () => this.#closed || this.#failed !== undefined,
        logLine: (line) => this.#logLine(line),
        processReady: () => this.#processReady(),
      },
      { retention: options.retention, minFreeBytes: options.minFreeBytes, measureFreeBytes: options.measureFreeBytes },
    );
  }

  /**
   * Open the log in options.dir and start the replica: with `peers`, over its own TCP
   * transport; with `members` and `link`, over a link the caller provides (hosts, tests).
   */
  static async open(options: LedgerOptions | LedgerCoreOptions): Promise<Ledger> {
    if (options === null || typeof options !== 'object') throw new TypeError('Ledger.open: options must be an object');
    if (!('link' in options) && 'peers' in options) return Ledger.#openWithPeers(options);
    return Ledger.#openWithLink(options as LedgerCoreOptions);
  }

  static async #openWithPeers(options: LedgerOptions): Promise<Ledger> {
    const raft: Record<string, string> = {};
    const clientAddresses: Record<string, string> = {};
    for (const [id, spec] of Object.entries(normalizePeers(options.peers, { clientOptional: true }))) {
      raft[id] = spec.raft;
      if (spec.client !== undefined) clientAddresses[id] = spec.client;
    }
    if (typeof options.id !== 'string' || raft[options.id] === undefined) {
      throw new RangeError(`Ledger.open: peers must include this replica's id ${JSON.stringify(options.id)}`);
    }
    const group = options.group ?? 0;
    const others: Record<string, string> = {};
    for (const [id, address] of Object.entries(raft)) if (id !== options.id) others[id] = address;
    // A group set of one: the same transport wiring as a server's groups.
    const set = new GroupSet<Ledger>({
      id: options.id,
      listen: raft[options.id]!,
      peers: others,
      clusterId: options.clusterId,
      segmentSizeBytes: options.segmentSizeBytes,
      log: (line) => options.onLog?.(line),
      logPrefix: `[${options.id}] transport: `,
    });
    const { peers: _peers, ...rest } = options;
    void _peers;
    let ledger: Ledger;
    try {
      ledger = await Ledger.#openWithLink({ ...rest, members: Object.keys(raft), clientAddresses, link: set.link(group) });
    } catch (error) {
      await set.close();
      throw error;
    }
    set.attach(group, ledger);
    ledger.#ownedSet = set;
    try {
      await set.start();
    } catch (error) {
      await ledger.close();
      throw error;
    }
    return ledger;
  }

  static async #openWithLink(options: LedgerCoreOptions): Promise<Ledger> {
    if (typeof options.id !== 'string' || options.id === '') throw new TypeError('Ledger.open: id must be a non-empty string');
    if (!Array.isArray(options.members) || !options.members.includes(options.id)) {
      throw new RangeError(`Ledger.open: members must be an array that includes the id ${JSON.stringify(options.id)}`);
    }
    if (options.durability !== undefined && options.durability !== 'fsync' && options.durability !== 'memory') {
      throw new RangeError(`durability must be 'fsync' or 'memory', got ${JSON.stringify(options.durability)}`);
    }
    if (options.link === null || typeof options.link?.send !== 'function') throw new TypeError('Ledger.open: link.send must be a function');
    const log = await SegmentedLog.open({
      dir: options.dir,
      ...(options.segmentSizeBytes !== undefined ? { segmentSizeBytes: options.segmentSizeBytes } : {}),
      ...(options.maxEntrySizeBytes !== undefined ? { maxEntrySizeBytes: options.maxEntrySizeBytes } : {}),
      onNotice: (m) => options.onLog?.(`[${options.id}] storage: ${m}`),
      owner: { nodeId: options.id, clusterId: options.clusterId ?? DEFAULT_CLUSTER_ID, group: options.group ?? 0 },
      ...(options.onFlushed !== undefined ? { onFlushed: options.onFlushed } : {}),
    });
    let ledger: Ledger;
    try {
      ledger = new Ledger(options, log);
    } catch (error) {
      await log.close();
      throw error;
    }
    ledger.#start(options);
    return ledger;
  }

  #start(options: LedgerCoreOptions): void {
    this.#timers.push(everyMs(this.tickMs, () => this.#onTick()));
    if (this.durability === 'memory') {
      const every = positive('memoryFlushIntervalMs', options.memoryFlushIntervalMs, 5);
      this.#timers.push(everyMs(every, () => this.#backgroundFlush()));
    }
    const retention = this.#lifecycle.retention;
    if (retention !== undefined) this.#timers.push(everyMs(retention.checkIntervalMs, () => this.#lifecycle.applyRetention()));
    const spaceEvery = positive('spaceCheckIntervalMs', options.spaceCheckIntervalMs, DEFAULT_SPACE_CHECK_INTERVAL_MS);
    this.#timers.push(everyMs(spaceEvery, () => this.#checkSpace()));
    this.#processReady();
  }

  // ------------------------------------------------------------------ inputs

  /**
   * A message from a peer (the transport calls this). An append whose records fail their
   * CRC is dropped here, before the core sees it. Their structure is not checked again:
   * the transport's decoder did that once, at the network boundary (storage/records.ts),
   * and records handed over in-process come from a SegmentedLog.
   */
  receive(message: Message): void {
    if (this.#closed || this.#failed !== undefined) return;
    if (message.type === 'append' || message.type === 'heartbeat') {
      this.#stats.leaderContactTick = this.#stats.ticks;
      if (message.type === 'append' && message.commit > this.#stats.leaderCommit) this.#stats.leaderCommit = message.commit;
    }
    const taken = this.#lifecycle.receive(message);
    if (taken === undefined) return;
    message = taken;
    if (message.type === 'append' && message.entries.length > 0) {
      const records = message.entries.map((e) => (e as Entry & { record?: Uint8Array }).record);
      if (records.some((r) => r === undefined)) {
        this.#logLine(`[${this.id}] dropped an append from ${message.from} without record bytes`);
        return;
      }
      try {
        verifyRecordCrcs(joinRecords(records as Uint8Array[]));
      } catch (error) {
        this.#logLine(`[${this.id}] dropped an append from ${message.from}: ${(error as Error).message}`);
        return;
      }
    }
    try {
      this.#core.step(message);
    } catch (error) {
      this.#logLine(`[${this.id}] could not step a ${message.type} from ${message.from}: ${(error as Error).message}`);
      return;
    }
    this.#scheduleReady();
  }

  #onTick(): void {
    if (this.#closed || this.#failed !== undefined) return;
    this.#stats.ticks++;
    this.#core.tick();
    this.#pending.expire(Date.now());
    this.#maybeSaveCommit();
    this.#processReady();
  }

  #scheduleReady(): void {
    if (this.#readyScheduled) return;
    this.#readyScheduled = true;
    setImmediate(() => {
      this.#readyScheduled = false;
      this.#processReady();
    });
  }

  // ------------------------------------------------------------------ the Ready loop

  #processReady(): void {
    if (this.#processing || this.#resetRunning || this.#closed || this.#failed !== undefined) return;
    this.#processing = true;
    try {
      while (!this.#resetRunning && this.#core.hasReady()) {
        const rd = this.#core.ready();
        if (rd === null) break;
        const wrote = this.#handleReady(rd);
        this.#core.advance(rd);
        if (wrote && this.durability === 'memory') this.#markStoredInMemory();
      }
    } catch (error) {
      this.#fail(error as Error);
    } finally {
      this.#processing = false;
    }
  }

  /** Returns whether entries were written. */
  #handleReady(rd: Ready): boolean {
    if (rd.logReset !== null) {
      this.#startLogReset(rd);
      return false;
    }
    if (rd.hardState !== null) {
      const hs = rd.hardState;
      if (rd.hardStateMustSync) {
        // Term or vote changed: durable before vote replies go out and before entries count as stored.
        const save = this.#log.meta.save({ term: hs.term, votedFor: hs.vote, commitIndex: Math.max(hs.commit, this.#log.meta.hardState.commitIndex) });
        const seq = ++this.#hardStateSeq;
        this.#hardStateBarrier = save.then(() => {
          this.#hardStateDurableSeq = Math.max(this.#hardStateDurableSeq, seq);
          this.#releaseHeld();
        });
        this.#hardStateBarrier.catch((error: unknown) => this.#fail(error as Error));
      } else if (hs.commit > this.#commitToSave) {
        // A commit-only change: saved lazily (see #maybeSaveCommit), never on the hot path.
        this.#commitToSave = hs.commit;
      }
    }
    let wrote = false;
    if (rd.entries.length > 0) {
      this.#writeEntries(rd.entries);
      wrote = true;
    }
    for (const m of rd.messages) {
      const needHs = m.waitForHardState === true && this.#hardStateDurableSeq < this.#hardStateSeq;
      const needIndex = m.waitForDurableIndex !== undefined && this.#durableIndex < m.waitForDurableIndex;
      if (needHs || needIndex) {
        this.#held.push({ message: m, hardStateSeq: m.waitForHardState === true ? this.#hardStateSeq : 0, durableIndex: m.waitForDurableIndex ?? 0 });
      } else {
        this.#send(m);
      }
    }
    if (rd.committed !== null) this.#applyCommitted(rd.committed.to);
    for (const req of rd.needsCatchUp) {
      const last = this.#catchUpLoggedAt.get(req.peer) ?? 0;
      if (Date.now() - last > 10_000) {
        this.#catchUpLoggedAt.set(req.peer, Date.now());
        this.#logLine(`[${this.id}] follower ${req.peer} needs index ${req.fromIndex}, below this log's first index ${this.#log.firstIndex}`);
      }
    }
    if (rd.softState !== null) {
      const s = rd.softState;
      if (s.role !== this.#lastRole) {
        this.#lastRole = s.role;
        if (s.role === 'candidate') this.#stats.elections++;
        this.#logLine(`[${this.id}] role changed group=${this.group} role=${s.role} term=${s.term} leader=${s.leader === '' ? '-' : s.leader}`);
        this.emit('role', s.role, s.term);
      }
      if (s.leader !== this.#lastLeader) {
        this.#lastLeader = s.leader;
        if (s.leader !== '') this.#stats.leaderChanges++;
        this.#logLine(`[${this.id}] leader changed group=${this.group} leader=${s.leader === '' ? '-' : s.leader} term=${s.term} role=${s.role}`);
        this.emit('leader', s.leader, s.term);
      }
    }
    return wrote;
  }

  /**
   * Follower: Ready.logReset (docs/RAFT.md, "Log start"). The storage reset is durable and
   * the application snapshot installed before anything else of this Ready is done (its
   * messages carry the acknowledgement of the reset) and before any later Ready is handled;
   * inputs (messages, ticks) still reach the core meanwhile.
   */
  #startLogReset(rd: Ready): void {
    const reset = rd.logReset!;
    this.#resetRunning = true;
    const run = async (): Promise<void> => {
      await this.#log.resetTo(reset.at);
      this.#ownPositions.clear();
      this.#durableIndex = reset.at.index;
      if (this.#commitIndex < reset.at.index) this.#commitIndex = reset.at.index;
      if (this.#snapshot !== undefined) await this.#snapshot.install(reset.snapshot, reset.at);
      this.#logLine(`[${this.id}] log reset: starts after ${reset.at.index}/t${reset.at.term} at pos ${reset.at.pos} (snapshot ${reset.snapshot.byteLength} bytes)`);
    };
    run().then(
      () => {
        this.#resetRunning = false;
        if (this.#closed || this.#failed !== undefined) return;
        const wrote = this.#handleReady({ ...rd, logReset: null });
        if (wrote && this.durability === 'memory') this.#markStoredInMemory();
        this.#processReady();
      },
      (error: unknown) => {
        this.#resetRunning = false;
        this.#fail(error as Error);
      },
    );
  }

  #writeEntries(entries: readonly Entry[]): void {
    const first = entries[0]!.index;
    if (first <= this.#log.lastIndex) {
      this.#logLine(`[${this.id}] truncating conflicting log suffix group=${this.group} from=${first} last=${this.#log.lastIndex} term=${this.#core.term}`);
      this.#log.truncateSuffix(first).catch((error: unknown) => this.#fail(error as Error));
      for (const index of this.#ownPositions.keys()) if (index >= first) this.#ownPositions.delete(index);
      if (this.#durableIndex >= first) this.#durableIndex = first - 1;
      this.#unwritten = [];
    }
    let todo = entries;
    if (this.#unwritten.length > 0) {
      // New entries replace unwritten ones from `first` on (a new leader's suffix).
      const kept = this.#unwritten.slice(0, Math.max(0, first - this.#unwritten[0]!.index));
      if (kept.length > 0 && kept.at(-1)!.index + 1 !== first) throw new Error(`entries from ${first} leave a gap after unwritten entry ${kept.at(-1)!.index}`);
      todo = [...kept, ...entries];
      this.#unwritten = [];
    }
    this.#writeRuns(todo);
  }

  /** Write `entries` (first: log.lastIndex + 1) run by run; what the disk refuses for space waits in #unwritten. */
  #writeRuns(entries: readonly Entry[]): void {
    let i = 0;
    while (i < entries.length) {
      const received = (entries[i] as Entry & { record?: Uint8Array }).record !== undefined;
      let j = i + 1;
      while (j < entries.length && ((entries[j] as Entry & { record?: Uint8Array }).record !== undefined) === received) j++;
      const run = entries.slice(i, j);
      try {
        this.#writeRun(run, received);
      } catch (error) {
        if (!isRaftLedgerError(error, 'ERR_NO_SPACE')) throw error;
        this.#unwritten = entries.slice(i);
        this.#lifecycle.markFull();
        this.#logLine(`[${this.id}] ${this.#unwritten.length} entries from index ${run[0]!.index} wait for free space: ${error.message}`);
        break;
      }
      i = j;
    }
    if (i === 0) return;
    if (this.durability === 'fsync') this.#requestFlush();
    const segment = Math.floor(this.#log.writePos / this.#log.segmentSizeBytes);
    if (segment !== this.#writeSegment) {
      // A segment roll: look at free space and retention now rather than at the next timer.
      this.#writeSegment = segment;
      setImmediate(() => {
        this.#checkSpace();
        this.#lifecycle.applyRetention();
      });
    }
  }

  /** One run of received records or own entries; throws before writing anything when a segment cannot be created. */
  #writeRun(run: Entry[], received: boolean): void {
    if (received) {
      // Structure-checked by the decoder and CRC-checked by receive() before the core saw
      // them; the bytes are ours alone since.
      this.#log.appendRecords(joinRecords(run.map((e) => (e as Entry & { record: Uint8Array }).record)), { checkedOnArrival: true });
      return;
    }
    const result = this.#log.appendEntries(run);
    const tracked = this.#pending.size > 0;
    for (let k = 0; k < run.length; k++) {
      const e = run[k] as Entry & { record?: Uint8Array; pos?: number };
      e.record = result.records[k]!;
      e.pos = result.positions[k]!;
      if (tracked && e.type === EntryType.Normal) this.#ownPositions.set(e.index, e.pos);
    }
  }

  /** A free-space check (timer, roll); entries the disk refused are retried once there is space. */
  #checkSpace(): void {
    this.#lifecycle.checkSpace();
    this.#retryUnwritten();
  }

  /** Retry entries the disk refused, once a check finds space again. */
  #retryUnwritten(): void {
    if (this.#unwritten.length === 0 || this.#lifecycle.space.low || this.#processing || this.#closed || this.#failed !== undefined) return;
    const todo = this.#unwritten;
    this.#unwritten = [];
    try {
      this.#writeRuns(todo);
    } catch (error) {
      this.#fail(error as Error);
      return;
    }
    if (this.durability === 'memory') this.#markStoredInMemory();
    this.#processReady();
  }

  #send(message: Message): void {
    if (!this.#lifecycle.maySend(message)) return;
    try {
      this.#link.send(message);
    } catch (error) {
      this.#logLine(`[${this.id}] send of ${message.type} to ${message.to} failed: ${(error as Error).message}`);
    }
  }

  #releaseHeld(): void {
    if (this.#held.length === 0) return;
    const still: HeldMessage[] = [];
    for (const h of this.#held) {
      if (this.#hardStateDurableSeq >= h.hardStateSeq && this.#durableIndex >= h.durableIndex) this.#send(h.message);
      else still.push(h);
    }
    this.#held = still;
  }

  // ------------------------------------------------------------------ durability

  #requestFlush(): void {
    if (this.#flushRunning) {
      this.#flushWanted = true;
      return;
    }
    this.#flushRunning = true;
    const barrier = this.#hardStateBarrier;
    const startedMs = performance.now();
    Promise.all([this.#log.flush(), barrier]).then(
      ([index]) => {
        this.#stats.fsyncLatency.observe((performance.now() - startedMs) / 1000);
        this.#flushRunning = false;
        this.#onDurable(index);
        if (this.#flushWanted) {
          this.#flushWanted = false;
          this.#requestFlush();
        }
      },
      (error: unknown) => {
        this.#flushRunning = false;
        this.#fail(error as Error);
      },
    );
  }

  #onDurable(index: number): void {
    if (this.#closed || this.#failed !== undefined) return;
    const bounded = Math.min(index, this.#log.lastIndex);
    if (bounded > this.#durableIndex || bounded < this.#durableIndex) {
      this.#durableIndex = bounded;
      if (bounded >= this.#log.firstIndex) this.#core.markDurable(bounded, this.#log.term(bounded));
    }
    this.#releaseHeld();
    this.#processReady();
  }

  /** 'memory' mode: written to the mapping counts as stored (after a pending term/vote save). */
  #markStoredInMemory(): void {
    const index = this.#log.lastIndex;
    const term = this.#log.lastTerm;
    if (this.#hardStateDurableSeq >= this.#hardStateSeq) {
      this.#durableIndex = index;
      this.#core.markDurable(index, term);
      this.#releaseHeld();
    } else {
      this.#hardStateBarrier.then(() => this.#onDurable(this.#log.lastIndex)).catch(() => {});
    }
  }

  #backgroundFlush(): void {
    if (this.#closed || this.#failed !== undefined || this.#flushRunning) return;
    if (this.#log.flushedIndex >= this.#log.lastIndex) return;
    this.#flushRunning = true;
    const startedMs = performance.now();
    this.#log.flush().then(
      () => {
        this.#stats.fsyncLatency.observe((performance.now() - startedMs) / 1000);
        this.#flushRunning = false;
      },
      (error: unknown) => {
        this.#flushRunning = false;
        this.#fail(error as Error);
      },
    );
  }

  #applyCommitted(to: number): void {
    if (to <= this.#commitIndex) return;
    this.#commitIndex = to;
    // Entries this node wrote as leader and that no truncation removed are known by
    // index -> pos; anything else is looked up (and term-checked) in the log.
    const own = this.#ownPositions;
    this.#pending.commit(
      to,
      (i, term) => (own.has(i) ? term : this.#log.term(i)),
      (i) => {
        const pos = own.get(i);
        if (pos === undefined) return this.#log.posOf(i);
        own.delete(i);
        return pos;
      },
    );
    if (this.#pending.size === 0 && own.size > 0) own.clear();
    const waiters = this.#commitWaiters;
    this.#commitWaiters = [];
    for (const w of waiters) w();
    this.emit('commit', to);
  }

  /** Commit-only hard-state changes are saved lazily (they are an optimization for restarts). */
  #maybeSaveCommit(): void {
    if (this.#commitToSave < 0) return;
    const now = Date.now();
    if (now - this.#lastCommitSaveMs < this.#commitSaveIntervalMs) return;
    const commit = Math.min(this.#commitToSave, this.#durableIndex);
    this.#commitToSave = -1;
    this.#lastCommitSaveMs = now;
    if (commit <= this.#log.meta.hardState.commitIndex) return;
    this.#log.meta.save({ commitIndex: commit }).catch((error: unknown) => {
      // A commit-only save is an optimization for restarts: a full disk postpones it.
      if (!isRaftLedgerError(error, 'ERR_NO_SPACE')) return this.#fail(error as Error);
      this.#lifecycle.markFull();
      this.#commitToSave = Math.max(this.#commitToSave, commit);
    });
  }

  #fail(error: Error): void {
    if (this.#failed !== undefined || this.#closed) return;
    const failure =
      error instanceof RaftLedgerError && error.code === 'ERR_LOG_FAILED'
        ? error
        : new RaftLedgerError('ERR_LOG_FAILED', `replica ${this.id} stopped: ${error.message}`, { cause: error });
    this.#failed = failure;
    this.#logLine(`[${this.id}] ${failure.message}`);
    for (const stop of this.#timers) stop();
    this.#pending.rejectAll(failure);
    if (this.listenerCount('error') > 0) this.emit('error', failure);
  }

  // ------------------------------------------------------------------ API

  #checkUsable(): void {
    if (this.#closed) throw new RaftLedgerError('ERR_CLOSED', 'the ledger is closed');
    if (this.#failed !== undefined) throw this.#failed;
  }

  #leaderHint(): LeaderHint | undefined {
    const leader = this.#core.leader;
    if (leader === '' || leader === this.id) return undefined;
    const address = this.#clientAddresses[leader];
    return address === undefined ? { id: leader } : { id: leader, address };
  }

  #notLeader(): RaftLedgerError {
    const hint = this.#leaderHint();
    return new RaftLedgerError(
      'ERR_NOT_LEADER',
      hint === undefined ? `${this.id} is not the leader and no leader is known yet` : `${this.id} is not the leader; the leader is ${hint.id}`,
      hint === undefined ? {} : { leaderHint: hint },
    );
  }

  /**
   * Append one payload (resolves with its { index, pos }) or many (resolves with one per
   * payload, in order) once committed: stored by a quorum, durably in 'fsync' mode.
   */
  append(payload: Uint8Array, options?: { signal?: AbortSignal }): Promise<AppendAck>;
  append(payloads: readonly Uint8Array[], options?: { signal?: AbortSignal }): Promise<AppendAck[]>;
  append(input: Uint8Array | readonly Uint8Array[], options: { signal?: AbortSignal } = {}): Promise<AppendAck | AppendAck[]> {
    const single = input instanceof Uint8Array;
    const payloads = single ? [input] : input;
    let bytes = 0;
    try {
      this.#checkUsable();
      if (!Array.isArray(payloads) || payloads.length === 0) throw new TypeError('append: expected a Uint8Array or a non-empty array of them');
      for (const p of payloads) {
        if (!(p instanceof Uint8Array)) throw new TypeError('append: every payload must be a Uint8Array');
        bytes += p.byteLength;
        if (p.byteLength > this.#log.maxEntrySizeBytes) {
          throw new RaftLedgerError('ERR_ENTRY_TOO_LARGE', `payload of ${p.byteLength} bytes exceeds maxEntrySizeBytes ${this.#log.maxEntrySizeBytes}`);
        }
      }
      if (this.#pending.size + payloads.length > this.#maxPending) {
        throw new RaftLedgerError('ERR_OVERLOADED', `${this.#pending.size} appends are already waiting (maxPendingAppends ${this.#maxPending}); retry later`);
      }
      options.signal?.throwIfAborted();
      const refused = this.#lifecycle.refuseAppend();
      if (refused !== undefined) throw refused;
    } catch (error) {
      return Promise.reject(error);
    }
    let firstIndex: number;
    try {
      firstIndex = this.#core.propose(payloads);
    } catch (error) {
      if (error instanceof RaftRefusal) {
        if (error.code === 'ERR_TRANSFER_IN_PROGRESS') {
          return Promise.reject(new RaftLedgerError('ERR_TRANSFER_IN_PROGRESS', error.message, { cause: error }));
        }
        return Promise.reject(this.#notLeader());
      }
      return Promise.reject(error);
    }
    this.#stats.appends += payloads.length;
    this.#stats.appendBytes += bytes;
    const proposedMs = performance.now();
    const promise = new Promise<AppendAck[]>((resolve, reject) => {
      this.#pending.push({
        firstIndex,
        count: payloads.length,
        term: this.#core.term,
        deadlineMs: Date.now() + this.#appendTimeoutMs,
        proposedMs,
        resolve,
        reject,
      });
    });
    this.#scheduleReady();
    const result = single ? promise.then((acks) => acks[0]!) : promise;
    const signal = options.signal;
    if (signal === undefined) return result;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(new RaftLedgerError('ERR_ABORTED', 'append aborted while waiting (it may still commit)', { cause: signal.reason }));
      signal.addEventListener('abort', onAbort, { once: true });
      result.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }

  #toEntry(e: LogEntry): LedgerEntry {
    return { index: e.index, term: e.term, pos: e.pos, type: entryTypeOf(e.type), payload: e.data };
  }

  /** A committed entry (or, with uncommitted, any written entry); null past the end. */
  read(index: number, options: { uncommitted?: boolean } = {}): LedgerEntry | null {
    this.#checkUsable();
    if (!Number.isSafeInteger(index) || index < 1) throw new RangeError(`read: index must be a positive integer, got ${String(index)}`);
    const end = options.uncommitted === true ? this.#log.lastIndex : Math.min(this.#commitIndex, this.#log.lastIndex);
    if (index > end) return null;
    return this.#toEntry(this.#log.read(index));
  }

  /** Committed entries from `from`, at most `limit` of them and about `maxBytes` (at least one). */
  readRange(from: number, options: { limit?: number; maxBytes?: number; uncommitted?: boolean } = {}): LedgerEntry[] {
    this.#checkUsable();
    checkPositiveInteger('readRange', 'from', from);
    if (options === null || typeof options !== 'object') throw new TypeError('readRange: options must be an object');
    const limit = options.limit ?? 1000;
    checkPositiveInteger('readRange', 'limit', limit);
    const maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
    checkPositiveInteger('readRange', 'maxBytes', maxBytes);
    const end = options.uncommitted === true ? this.#log.lastIndex : Math.min(this.#commitIndex, this.#log.lastIndex);
    if (from > end) return [];
    return this.#log.readRange(from, Math.min(end, from + limit - 1) + 1, maxBytes).map((e) => this.#toEntry(e));
  }

  /**
   * Committed entries from `from` on, waiting for new ones; ends when the signal aborts or the
   * ledger closes. Arguments are checked at the call (RangeError/TypeError), not at the first next().
   */
  tail(from: number, options: { signal?: AbortSignal; batchBytes?: number } = {}): AsyncGenerator<LedgerEntry> {
    checkPositiveInteger('tail', 'from', from);
    if (options === null || typeof options !== 'object') throw new TypeError('tail: options must be an object');
    if (options.batchBytes !== undefined) checkPositiveInteger('tail', 'batchBytes', options.batchBytes);
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new TypeError('tail: signal must be an AbortSignal');
    return this.#tail(from, options);
  }

  async *#tail(from: number, options: { signal?: AbortSignal; batchBytes?: number }): AsyncGenerator<LedgerEntry> {
    let next = from;
    const signal = options.signal;
    while (!this.#closed && signal?.aborted !== true) {
      if (this.#failed !== undefined) throw this.#failed;
      if (next <= this.#commitIndex) {
        for (const e of this.readRange(next, { limit: 4096, maxBytes: options.batchBytes ?? 1024 * 1024 })) {
          next = e.index + 1;
          yield e;
        }
        continue;
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal?.removeEventListener('abort', done);
          resolve();
        };
        this.#commitWaiters.push(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  get role(): Role {
    return this.#core.role;
  }
  get leader(): string {
    return this.#core.leader;
  }
  get term(): number {
    return this.#core.term;
  }
  get commitIndex(): number {
    return this.#commitIndex;
  }
  get lastIndex(): number {
    return this.#log.lastIndex;
  }

  status(): LedgerStatus {
    const s: RaftStatus = this.#core.status();
    const followers: Record<string, FollowerStatus> = {};
    for (const [id, p] of Object.entries(s.progress)) {
      if (id === this.id) continue;
      const lag = Math.max(0, this.#log.lastIndex - p.match);
      const f: FollowerStatus = { match: p.match, next: p.next, state: p.state, lag, active: p.recentActive };
      if (lag === 0) f.lagBytes = 0;
      else if (p.match + 1 >= this.#log.firstIndex) f.lagBytes = Math.max(0, this.#log.writePos - this.#log.posOf(p.match + 1));
      if (p.state === 'reset') f.catchUp = 'reset';
      else if (p.state === 'catchUp') f.catchUp = 'stranded';
      if (p.reset !== undefined) f.reset = p.reset;
      followers[id] = f;
    }
    const leaderAddress = s.leader === '' ? undefined : this.#clientAddresses[s.leader];
    return {
      id: this.id,
      group: this.group,
      role: s.role,
      term: s.term,
      leader: s.leader,
      ...(leaderAddress !== undefined ? { leaderAddress } : {}),
      firstIndex: this.#log.firstIndex,
      firstPos: this.#log.firstPos,
      lastIndex: this.#log.lastIndex,
      commitIndex: this.#commitIndex,
      durableIndex: this.#durableIndex,
      durability: this.durability,
      pendingAppends: this.#pending.size,
      diskBytes: this.#log.diskBytes,
      logBytes: this.#log.sizeBytes,
      freeBytes: this.#lifecycle.space.freeBytes,
      noSpace: this.#lifecycle.space.low,
      followers,
      stats: this.#stats.snapshot(this.tickMs),
      ...(this.#link.transportStats !== undefined ? { transport: this.#link.transportStats() } : {}),
    };
  }

  /** Start an election now (tests, operators). */
  campaign(): void {
    this.#checkUsable();
    this.#core.campaign();
    this.#processReady();
  }

  /** Hand leadership to `to`; resolves once `to` leads, rejects with ERR_TIMEOUT otherwise. */
  async transferLeadership(to: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    this.#checkUsable();
    if (this.#core.leader === to) return;
    try {
      this.#core.transferLeadership(to);
    } catch (error) {
      if (error instanceof RaftRefusal) throw error.code === 'ERR_NOT_LEADER' ? this.#notLeader() : new RaftLedgerError(error.code, error.message);
      throw error;
    }
    this.#processReady();
    const timeoutMs = options.timeoutMs ?? this.tickMs * (this.#core.settings.electionTicks * 2 + 10);
    await new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off('leader', onLeader);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const onLeader = (leader: string): void => {
        if (leader === to) {
          cleanup();
          resolve();
        }
      };
      const onAbort = (): void => {
        cleanup();
        reject(new RaftLedgerError('ERR_ABORTED', 'transferLeadership aborted'));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new RaftLedgerError('ERR_TIMEOUT', `leadership did not move to ${to} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('leader', onLeader);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stop timers, reject waiting appends with ERR_CLOSED, flush and close the log. Idempotent. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    for (const stop of this.#timers) stop();
    this.#pending.rejectAll(new RaftLedgerError('ERR_CLOSED', 'the ledger closed before the append got its verdict'));
    const waiters = this.#commitWaiters;
    this.#commitWaiters = [];
    for (const w of waiters) w();
    this.#closing = (async () => {
      await this.#hardStateBarrier.catch(() => {});
      await this.#lifecycle.running;
      if (this.#failed === undefined) {
        const commit = Math.min(this.#commitIndex, this.#log.flushedIndex);
        if (commit > this.#log.meta.hardState.commitIndex) await this.#log.meta.save({ commitIndex: commit }).catch(() => {});
      }
      await this.#log.close();
      await this.#ownedSet?.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** An API argument that must be a positive safe integer: TypeError if not a number, RangeError if out of range. */
function checkPositiveInteger(method: string, name: string, value: unknown): void {
  if (typeof value !== 'number') throw new TypeError(`${method}: ${name} must be a positive integer, got ${typeof value} ${JSON.stringify(value) ?? String(value)}`);
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${method}: ${name} must be a positive integer, got ${String(value)}`);
}
