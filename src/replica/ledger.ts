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
import { RaftLedgerError, type LeaderHint } from '../errors.js';
import { RaftCore, RaftRefusal, type Message, type Ready, type Role } from '../raft/index.js';
import { SegmentedLog } from '../storage/index.js';
import type { LedgerEntry } from '../entry.js';
import { SegmentedLogStorage } from './log-adapter.js';
import { AppSnapshotCache, syntheticSnapshotOf } from './app-snapshot.js';
import { GroupSet } from './group-set.js';
import { checkLinkOptions, coreConfig, logOptions, openWithPeers, reloadOwnedTls } from './ledger-open.js';
import { PendingAppends, type AppendAck } from './pending.js';
import { everyMs } from './shared-interval.js';
import { LedgerStats } from './ledger-stats.js';
import { DEFAULT_SPACE_CHECK_INTERVAL_MS } from './disk-space.js';
import { LogLifecycle } from './lifecycle.js';
import { checkPayloads, DEFAULT_MEMORY_FLUSH_INTERVAL_MS, positive, type LedgerCoreOptions, type LedgerEvents, type LedgerOptions, type LedgerStatus, type Durability, type RaftLink } from './ledger-types.js';
import { ledgerStatus } from './ledger-status.js';
import { addCommitWaiter, checkRangeArguments, checkTailArguments, tailEntries, toLedgerEntry, withoutSystem, type TailOptions } from './ledger-reads.js';
import { WritePath, receivedRecordsProblem } from './write-path.js';
import { abortable, waitForLeader } from './ledger-waits.js';
import { Idempotence, type AppendOptions, type Admitted } from './idempotence.js';
import { ReadGate, checkReadOptions, type Consistency } from './read-gate.js';
import { coreMembership, ReplicaMembership, type MemberChange, type MembersView } from './membership.js';
import { runLogReset } from './log-reset.js';
import { ReadyNotes } from './ready-notes.js';
import { serveRepair, type RepairRecord, type RepairRequest } from './repair.js';
import { selfRepairOf, type SelfRepair } from './self-repair.js';

export type { Durability, RaftLink, LedgerCoreOptions, LedgerOptions, FollowerStatus, LedgerStatus, LedgerEvents } from './ledger-types.js';

export class Ledger extends EventEmitter<LedgerEvents> {
  readonly id: string;
  readonly group: number;
  readonly durability: Durability;
  readonly tickMs: number;

  readonly #log: SegmentedLog;
  readonly #core: RaftCore;
  readonly #link: RaftLink;
  readonly #clientAddresses: Record<string, string>;
  readonly #pending = new PendingAppends((latencyMs) => this.#stats.commitLatency.observe(latencyMs / 1000));
  readonly #maxPending: number;
  readonly #appendTimeoutMs: number;
  readonly #logLine: (line: string) => void;
  /** Unsubscribe functions of this ledger's shared timers (tick, background flush). */
  readonly #timers: Array<() => void> = [];

  #commitIndex: number;
  #readyScheduled = false;
  #processing = false;
  #commitWaiters: Array<() => void> = [];
  /** Reads with a stated consistency (read-gate.ts). */
  readonly #reads: ReadGate;
  #failed: Error | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** The group set of one (its TCP transport) that Ledger.open({ peers }) created; closed with the ledger. */
  #ownedSet: GroupSet<Ledger> | undefined;
  /** Role and leader changes, catch-up needs (ready-notes.ts). */
  readonly #notes: ReadyNotes;
  readonly #stats = new LedgerStats();
  /** A follower's log reset (Ready.logReset) in progress: no Ready is handled until it is done. */
  #resetRunning = false;
  readonly #snapshot: AppSnapshotCache | undefined;
  /** Retention and the free-space guard (lifecycle.ts). */
  readonly #lifecycle: LogLifecycle;
  /** Hard-state saves, log writes, held messages and flushes (write-path.ts). */
  readonly #write: WritePath;
  /** The producer table and duplicate answers of exactly-once appends (idempotence.ts). */
  readonly #idem: Idempotence;
  /** The stored configuration, the link's peers and change requests (membership.ts). */
  readonly #members: ReplicaMembership;
  /** Start-up repair, scrub and read-found damage, and the core's DamageGuard (self-repair.ts). */
  readonly #repair: SelfRepair;

  private constructor(options: LedgerCoreOptions, log: SegmentedLog) {
    super();
    this.id = options.id;
    this.group = options.group ?? 0;
    this.durability = options.durability ?? 'fsync';
    this.tickMs = positive('tickMs', options.tickMs, 10);
    this.#log = log;
    this.#link = options.link;
    this.#clientAddresses = { ...options.clientAddresses };
    this.#maxPending = positive('maxPendingAppends', options.maxPendingAppends, 100_000);
    this.#appendTimeoutMs = positive('appendTimeoutMs', options.appendTimeoutMs, 10_000);
    const commitSaveIntervalMs = positive('commitSaveIntervalMs', options.commitSaveIntervalMs, 200, 0);
    this.#logLine = options.onLog ?? (() => {});
    const storage = new SegmentedLogStorage(log, { trustPersistedCommit: this.durability === 'fsync', onDamaged: (i) => this.#repair.noticeDamaged(i) });
    const hooks = options.snapshot ?? syntheticSnapshotOf(options);
    this.#snapshot = hooks === undefined ? undefined : new AppSnapshotCache(hooks, (e) => this.#logLine(`[${options.id}] snapshot.provide() failed: ${(e as Error).message}`));
    this.#snapshot?.refresh();
    const membership = coreMembership(options.dir, options);
    this.#core = new RaftCore(coreConfig(options, storage, this.#snapshot, membership.config));
    this.#commitIndex = storage.hardState().commit;
    // Everything recovered is durable (open flushed it); tell the core.
    if (log.lastIndex >= log.firstIndex) this.#core.markDurable(log.lastIndex, log.lastTerm);
    this.#lifecycle = new LogLifecycle(
      {
        id: this.id,
        log,
        core: this.#core,
        commitIndex: () => this.#commitIndex,
        durableIndex: () => this.#write.durableIndex,
        stopped: () => this.#closed || this.#failed !== undefined,
        logLine: (line) => this.#logLine(line),
        processReady: () => this.#processReady(),
        beforeRetention: (keep) => this.#idem.foldCommitted(keep),
        producers: { baseBytes: () => this.#idem.baseBytes(), offered: (index, bytes) => this.#idem.offered(index, bytes) },
      },
      { retention: options.retention, minFreeBytes: options.minFreeBytes, measureFreeBytes: options.measureFreeBytes },
    );
    this.#write = new WritePath(
      {
        id: this.id,
        group: this.group,
        durability: this.durability,
        log,
        core: this.#core,
        lifecycle: this.#lifecycle,
        stats: this.#stats,
        pendingSize: () => this.#pending.size,
        stopped: () => this.#closed || this.#failed !== undefined,
        processing: () => this.#processing,
        send: (message) => this.#send(message),
        logLine: (line) => this.#logLine(line),
        fail: (error) => this.#fail(error),
        processReady: () => this.#processReady(),
        producerRunsWritten: (runs) => this.#idem.wrote(runs),
        suffixReplaced: (index) => this.#idem.replaced(index),
      },
      commitSaveIntervalMs,
    );
    const stopped = (): Error | undefined => this.#failed ?? (this.#closed ? new RaftLedgerError('ERR_CLOSED', 'the ledger is closed') : undefined);
    this.#idem = new Idempotence({ log, appendTimeoutMs: this.#appendTimeoutMs, core: this.#core, commitIndex: () => this.#commitIndex, waitForCommit: (wake) => this.#commitWaiters.push(wake), stopped, write: this.#write, logLine: (line) => this.#logLine(`[${this.id}] ${line}`) }, options);
    this.#notes = new ReadyNotes({ id: this.id, group: this.group, stats: this.#stats, firstIndex: () => this.#log.firstIndex, logLine: this.#logLine,
      emitRole: (role, term) => this.emit('role', role, term), emitLeader: (leader, term) => this.emit('leader', leader, term) }); // prettier-ignore
    this.#members = new ReplicaMembership({ id: this.id, dir: options.dir, core: this.#core, link: this.#link, clientAddresses: this.#clientAddresses, lastIndex: () => this.#log.lastIndex, logLine: this.#logLine, notLeader: () => this.#notLeader() }, membership.stored, options);
    this.#repair = selfRepairOf(options, log, this.#core, () => Math.min(this.#commitIndex, this.#write.durableIndex), () => this.#scheduleReady());
    this.#idem.open();
    this.#reads = new ReadGate({
      id: this.id, role: () => this.#core.role, leader: () => this.#core.leader, commitIndex: () => this.#commitIndex,
      readIndex: (ctx, lease) => this.#core.readIndex(ctx, lease), waitForCommit: (fn) => this.#commitWaiters.push(fn),
      notLeader: () => this.#notLeader(), scheduleReady: () => this.#scheduleReady(),
      stopped: () => (this.#closed ? new RaftLedgerError('ERR_CLOSED', 'the ledger closed before the read was served') : this.#failed),
    });
  }

  /**
   * Open the log in options.dir and start the replica: with `peers`, over its own TCP
   * transport; with `members` and `link`, over a link the caller provides (hosts, tests).
   */
  static async open(options: LedgerOptions | LedgerCoreOptions): Promise<Ledger> {
    if (options === null || typeof options !== 'object') throw new TypeError('Ledger.open: options must be an object');
    if (!('link' in options) && 'peers' in options) {
      return openWithPeers(options, (o) => Ledger.#openWithLink(o), (ledger, set) => {
        ledger.#ownedSet = set;
      });
    }
    return Ledger.#openWithLink(options as LedgerCoreOptions);
  }

  static async #openWithLink(options: LedgerCoreOptions): Promise<Ledger> {
    checkLinkOptions(options);
    const log = await SegmentedLog.open(logOptions(options));
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
      const every = positive('memoryFlushIntervalMs', options.memoryFlushIntervalMs, DEFAULT_MEMORY_FLUSH_INTERVAL_MS);
      this.#timers.push(everyMs(every, () => this.#write.backgroundFlush()));
    }
    const retention = this.#lifecycle.retention;
    if (retention !== undefined) this.#timers.push(everyMs(retention.checkIntervalMs, () => this.#lifecycle.applyRetention()));
    const spaceEvery = positive('spaceCheckIntervalMs', options.spaceCheckIntervalMs, DEFAULT_SPACE_CHECK_INTERVAL_MS);
    this.#timers.push(everyMs(spaceEvery, () => this.#write.checkSpace()));
    this.#members.afterReady(this.#commitIndex); // the link's peers: the configuration may be a stored one
    this.#repair.start();
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
      const problem = receivedRecordsProblem(message.entries);
      if (problem !== undefined) {
        this.#logLine(`[${this.id}] dropped an append from ${message.from}${problem}`);
        return;
      }
    }
    this.#reads.observe(message);
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
    this.#write.maybeSaveCommit();
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
        if (wrote && this.durability === 'memory') this.#write.markStoredInMemory();
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
    if (rd.hardState !== null) this.#write.saveHardState(rd.hardState, rd.hardStateMustSync);
    let wrote = false;
    if (rd.entries.length > 0) {
      this.#members.beforeWrite(rd.entries);
      this.#write.writeEntries(rd.entries);
      wrote = true;
    }
    this.#write.sendOrHold(rd.messages);
    if (rd.committed !== null) this.#applyCommitted(rd.committed.to);
    this.#members.afterReady(this.#commitIndex);
    this.#reads.onReady(rd);
    this.#notes.observe(rd);
    return wrote;
  }

  /** Follower: Ready.logReset (log-reset.ts); no Ready is handled until it is done. */
  #startLogReset(rd: Ready): void {
    const reset = rd.logReset!;
    this.#resetRunning = true;
    const onReset = (): void => {
      this.#write.ownPositions.clear();
      this.#write.durableIndex = reset.at.index;
      if (this.#commitIndex < reset.at.index) this.#commitIndex = reset.at.index;
    };
    runLogReset({ id: this.id, log: this.#log, snapshot: this.#snapshot, storeConfiguration: (r) => this.#members.beforeReset(r), beforeReset: (r) => this.#idem.beforeReset(r.at.index), onReset, logLine: this.#logLine }, reset).then(
      () => {
        this.#resetRunning = false;
        if (this.#closed || this.#failed !== undefined) return;
        const wrote = this.#handleReady({ ...rd, logReset: null });
        if (wrote && this.durability === 'memory') this.#write.markStoredInMemory();
        this.#processReady();
      },
      (error: unknown) => {
        this.#resetRunning = false;
        this.#fail(error as Error);
      },
    );
  }

  #send(message: Message): void {
    if (!this.#lifecycle.maySend(message)) return;
    try {
      this.#link.send(message);
    } catch (error) {
      this.#logLine(`[${this.id}] send of ${message.type} to ${message.to} failed: ${(error as Error).message}`);
    }
  }

  #applyCommitted(to: number): void {
    if (to <= this.#commitIndex) return;
    this.#commitIndex = to;
    this.#idem.committed();
    // Entries this node wrote as leader and that no truncation removed are known by
    // index -> pos; anything else is looked up (and term-checked) in the log.
    const own = this.#write.ownPositions;
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
    this.#reads.rejectAll(failure);
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
   * payload, in order) once committed: stored by a quorum, durably in 'fsync' mode. With
   * `producer`, exactly once per (producer, sequence) (idempotence.ts, README.md).
   */
  append(payload: Uint8Array, options?: AppendOptions): Promise<AppendAck>;
  append(payloads: readonly Uint8Array[], options?: AppendOptions): Promise<AppendAck[]>;
  append(input: Uint8Array | readonly Uint8Array[], options: AppendOptions = {}): Promise<AppendAck | AppendAck[]> {
    const single = input instanceof Uint8Array;
    const payloads = single ? [input] : input;
    let bytes = 0;
    let admitted: Admitted;
    try {
      this.#checkUsable();
      bytes = checkPayloads(payloads, this.#log.maxEntrySizeBytes);
      if (this.#pending.size + payloads.length > this.#maxPending) {
        throw new RaftLedgerError('ERR_OVERLOADED', `${this.#pending.size} appends are already waiting (maxPendingAppends ${this.#maxPending}); retry later`);
      }
      options.signal?.throwIfAborted();
      const refused = this.#lifecycle.refuseAppend();
      if (refused !== undefined) throw refused;
      admitted = this.#idem.prepare(options.producer, payloads);
      if (admitted instanceof Promise) return abortable<AppendAck | AppendAck[]>(admitted.then((acks) => (single ? acks[0]! : acks)), options.signal);
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
    if (admitted !== undefined) this.#idem.proposed(admitted, payloads.length, firstIndex, this.#core.term);
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
    return abortable<AppendAck | AppendAck[]>(result, options.signal);
  }

  /** A committed entry (or, with uncommitted, any written entry); null past the end. */
  read(index: number, options: { uncommitted?: boolean } = {}): LedgerEntry | null {
    this.#checkUsable();
    if (!Number.isSafeInteger(index) || index < 1) throw new RangeError(`read: index must be a positive integer, got ${String(index)}`);
    const end = options.uncommitted === true ? this.#log.lastIndex : Math.min(this.#commitIndex, this.#log.lastIndex);
    if (index > end) return null;
    return toLedgerEntry(this.#log.read(index));
  }

  /** Committed entries from `from`: of at most `limit` entries and about `maxBytes` (at least one), the normal ones unless includeSystem. */
  readRange(from: number, options: { limit?: number; maxBytes?: number; uncommitted?: boolean; includeSystem?: boolean } = {}): LedgerEntry[] {
    this.#checkUsable();
    const { limit, maxBytes } = checkRangeArguments(from, options);
    const end = options.uncommitted === true ? this.#log.lastIndex : Math.min(this.#commitIndex, this.#log.lastIndex);
    if (from > end) return [];
    return withoutSystem(this.#log.readRange(from, Math.min(end, from + limit - 1) + 1, maxBytes).map(toLedgerEntry), options.includeSystem);
  }

  /**
   * Committed entries from `from` on, waiting for new ones; ends when the signal aborts or the
   * ledger closes. Arguments are checked at the call (RangeError/TypeError), not at the first next().
   */
  tail(from: number, options: TailOptions = {}): AsyncGenerator<LedgerEntry> {
    checkTailArguments(from, options);
    return tailEntries(
      {
        closed: () => this.#closed,
        failed: () => this.#failed,
        commitIndex: () => this.#commitIndex,
        readRange: (next, range) => this.readRange(next, { ...range, includeSystem: true }),
        waitForCommit: (wake) => addCommitWaiter(() => this.#commitWaiters, wake),
      },
      from,
      options,
    );
  }

  /** `{ index, pos }` of the last committed entry, as fresh as `consistency` says (default 'linearizable'; read-gate.ts). */
  async commitPosition(options: { consistency?: Consistency; maxLagMs?: number } = {}): Promise<{ index: number; pos: number }> {
    this.#checkUsable();
    const { consistency, maxLagMs } = checkReadOptions('commitPosition', options);
    const index = await this.#reads.confirm(consistency, { timeoutMs: this.#appendTimeoutMs, maxLagMs });
    return { index, pos: index === 0 ? 0 : this.#log.posOf(index) };
  }

  get role(): Role { return this.#core.role; }
  get leader(): string { return this.#core.leader; }
  get term(): number { return this.#core.term; }
  get commitIndex(): number { return this.#commitIndex; }
  get lastIndex(): number { return this.#log.lastIndex; }
  /** Issue 16 (self-repair.ts, repair-link.ts): start-up damage repaired from peers (rejects ERR_LOG_CORRUPT when it cannot be); a peer's repair request answered from this log. */
  get startupRepaired(): Promise<void> { return this.#repair.startupRepaired; }
  serveRepair(request: RepairRequest): RepairRecord[] { return serveRepair(this.#log, request); }

  status(): LedgerStatus {
    return ledgerStatus({
      raft: this.#core.status(),
      id: this.id,
      group: this.group,
      durability: this.durability,
      log: this.#log,
      clientAddresses: this.#clientAddresses,
      commitIndex: this.#commitIndex,
      durableIndex: this.#write.durableIndex,
      pendingAppends: this.#pending.size,
      space: this.#lifecycle.space,
      stats: () => this.#stats.snapshot(this.tickMs),
      link: this.#link,
      members: this.#members.view(),
      repair: this.#repair.status(),
    });
  }

  // Membership (membership.ts): each change resolves once committed; the last one's { force } skips the quorum-of-the-rest check.
  members(): MembersView { this.#checkUsable(); return this.#members.view(); } // prettier-ignore
  addLearner(id: string, address: string): Promise<void> { return this.#changeMembers({ type: 'addLearner', id, address }); } // prettier-ignore
  promote(id: string): Promise<void> { return this.#changeMembers({ type: 'promote', id }); } // prettier-ignore
  removeMember(id: string, options: { force?: boolean } = {}): Promise<void> { return this.#changeMembers({ type: 'remove', id, force: options.force === true }); } // prettier-ignore

  #changeMembers(change: MemberChange): Promise<void> {
    try {
      this.#checkUsable();
      const proposed = this.#members.propose(change);
      if (proposed === null) return Promise.resolve(); // already in force: a retry (membership.ts)
      const done = new Promise<AppendAck[]>((resolve, reject) => {
        this.#pending.push({ firstIndex: proposed.index, count: 1, term: proposed.term, deadlineMs: Date.now() + this.#appendTimeoutMs, proposedMs: performance.now(), resolve, reject });
      });
      this.#processReady();
      return done.then(() => undefined);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Start an election now (tests, operators). */
  campaign(): void { this.#checkUsable(); this.#core.campaign(); this.#processReady(); } // prettier-ignore

  /** Hand leadership to `to`; resolves once `to` leads, rejects with ERR_TIMEOUT otherwise. */
  async transferLeadership(to: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    this.#checkUsable();
    if (this.#core.leader === to) return;
    try {
      this.#core.transferLeadership(to);
    } catch (error) {
      // transferLeadership refuses only with ERR_NOT_LEADER or ERR_TRANSFER_IN_PROGRESS
      if (error instanceof RaftRefusal) throw error.code === 'ERR_NOT_LEADER' ? this.#notLeader() : new RaftLedgerError('ERR_TRANSFER_IN_PROGRESS', error.message);
      throw error;
    }
    this.#processReady();
    const timeoutMs = options.timeoutMs ?? this.tickMs * (this.#core.settings.electionTicks * 2 + 10);
    await waitForLeader(this, to, timeoutMs, options.signal);
  }

  get closed(): boolean { return this.#closed; }

  /** Ledger.open({ peers, tls }): read the TLS files again (reloadOwnedTls: ERR_TLS keeps the old material). */
  reloadTls(): void { reloadOwnedTls(this.#ownedSet); }

  /** Stop timers, reject waiting appends with ERR_CLOSED, flush and close the log. Idempotent. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    for (const stop of this.#timers) stop();
    this.#pending.rejectAll(new RaftLedgerError('ERR_CLOSED', 'the ledger closed before the append got its verdict'));
    this.#reads.rejectAll(new RaftLedgerError('ERR_CLOSED', 'the ledger closed before the read was confirmed'));
    const waiters = this.#commitWaiters;
    this.#commitWaiters = [];
    for (const w of waiters) w();
    this.#closing = (async () => {
      await this.#write.hardStateBarrier.catch(() => {});
      await this.#lifecycle.running;
      await this.#idem.idle();
      await this.#repair.stop();
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
