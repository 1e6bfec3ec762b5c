/**
 * The log lifecycle of one replica (a Ledger's helper; the Ledger owns the core and the
 * log and calls in): retention of old segments (retention.ts) and the free-space guard
 * (disk-space.ts) with what a replica does while its disk is low.
 *
 *  - Retention removes whole segments below min(commit index, durable index) (and what
 *    minEntries and holdForFollowersMs keep), one run at a time; a request during a run
 *    runs again after it. The core reads LogStorage.firstIndex() on every use, so it sees
 *    the new first index at once; the log keeps the term before it in its metadata.
 *  - While the disk is low: client appends are refused (ERR_NO_SPACE, the Ledger asks
 *    refuseAppend()), appends from the leader keep only entries up to the log's last index
 *    (the log does not grow, so nothing unstored is acknowledged; truncating and rewriting
 *    a conflicting range goes on), TimeoutNow is ignored and vote requests are not sent
 *    (no campaign), and a leader hands leadership to a recently active follower.
 *  - A follower's partly received application snapshot is spooled to the log directory
 *    (snapshot-spool.ts), so a restart in the middle of a log start resumes from its offset.
 */
import type { RaftLedgerError } from '../errors.js';
import type { Message, RaftCore } from '../raft/index.js';
import type { SegmentedLog } from '../storage/index.js';
import { DiskSpaceGuard, defaultMinFreeBytes } from './disk-space.js';
import { FollowerActivity, checkRetentionPolicy, keepFromIndex, type CheckedRetentionPolicy, type RetentionPolicy } from './retention.js';
import { SnapshotSpool } from './snapshot-spool.js';

/** What the lifecycle needs from its Ledger. */
export interface LifecycleHost {
  readonly id: string;
  readonly log: SegmentedLog;
  readonly core: RaftCore;
  commitIndex(): number;
  durableIndex(): number;
  /** Closed or failed: do nothing. */
  stopped(): boolean;
  logLine(line: string): void;
  processReady(): void;
  /** Entries below keepFromIndex may be removed once the promise resolves (the producer table folds them and is saved first; idempotence.ts). */
  beforeRetention?(keepFromIndex: number): Promise<void> | void;
  /** The committed producer base: sent with the last chunk of a log start, taken from one (idempotence.ts). */
  producers?: { baseBytes(): Uint8Array | undefined; offered(index: number, bytes: Uint8Array): void };
}

export interface LifecycleOptions {
  retention?: RetentionPolicy | undefined;
  minFreeBytes?: number | undefined;
  measureFreeBytes?: (() => number) | undefined;
}

export class LogLifecycle {
  readonly retention: CheckedRetentionPolicy | undefined;
  readonly space: DiskSpaceGuard;
  readonly #host: LifecycleHost;
  readonly #followerActivity = new FollowerActivity();
  #retentionRun: Promise<void> | undefined;
  #retentionAgain = false;
  #handOffTurn = 0;
  #droppedLoggedAtMs = 0;
  readonly #spool: SnapshotSpool;

  constructor(host: LifecycleHost, options: LifecycleOptions) {
    this.#host = host;
    const log = host.log;
    this.retention = checkRetentionPolicy(options.retention);
    this.space = new DiskSpaceGuard(log.dir, options.minFreeBytes ?? defaultMinFreeBytes(log.segmentSizeBytes), options.measureFreeBytes ?? (() => log.freeSpaceBytes()));
    this.space.check();
    if (this.space.low) host.logLine(`[${host.id}] ${this.space.error().message}`);
    this.#spool = new SnapshotSpool(log.dir, (line) => host.logLine(`[${host.id}] ${line}`));
    this.#spool.dropIfPast(log.firstIndex - 1);
  }

  /** Bytes of a partly received application snapshot spooled on disk (0: none). */
  get spooledSnapshotBytes(): number {
    return this.#spool.heldBytes;
  }

  /** The running retention run, if any (close() waits for it). */
  get running(): Promise<void> | undefined {
    return this.#retentionRun;
  }

  /** Remove what the policy allows (never at or above min(commit, durable)); one run at a time. */
  applyRetention(): void {
    const policy = this.retention;
    const h = this.#host;
    if (policy === undefined || h.stopped()) return;
    if (this.#retentionRun !== undefined) {
      this.#retentionAgain = true;
      return;
    }
    const heldMatches: number[] = [];
    if (h.core.role === 'leader') {
      const progress = Object.entries(h.core.status().progress)
        .filter(([id]) => id !== h.id)
        .map(([id, p]): [string, number, boolean] => [id, p.match, p.recentActive]);
      heldMatches.push(...this.#followerActivity.held(progress, Date.now(), policy.holdForFollowersMs));
    } else {
      this.#followerActivity.clear();
    }
    const log = h.log;
    const keep = keepFromIndex({
      commitIndex: h.commitIndex(),
      durableIndex: Math.min(h.durableIndex(), log.flushedIndex),
      lastIndex: log.lastIndex,
      minEntries: policy.minEntries,
      heldMatches,
    });
    if (keep <= log.firstIndex) return;
    const before = log.firstIndex;
    const run = Promise.resolve(h.beforeRetention?.(keep)).then(() =>
      log.applyRetention({
        keepFromIndex: keep,
        ...(policy.maxBytes !== undefined ? { maxBytes: policy.maxBytes } : {}),
        ...(policy.maxAgeMs !== undefined ? { maxAgeMs: policy.maxAgeMs } : {}),
      }),
    );
    this.#retentionRun = run.then(
      (first) => {
        this.#retentionRun = undefined;
        if (first > before) h.logLine(`[${h.id}] retention: first index ${before} -> ${first} (${log.segmentCount} segment(s) left)`);
        if (this.#retentionAgain) {
          this.#retentionAgain = false;
          this.applyRetention();
        }
      },
      (error: unknown) => {
        this.#retentionRun = undefined;
        if (!h.stopped()) h.logLine(`[${h.id}] retention failed: ${(error as Error).message}`);
      },
    );
  }

  /** Measure free space; as a leader that cannot write, hand leadership to another replica. */
  checkSpace(): void {
    const h = this.#host;
    if (h.stopped()) return;
    if (this.space.check()) {
      h.logLine(this.space.low ? `[${h.id}] ${this.space.error().message}` : `[${h.id}] ${this.space.dir}: ${this.space.freeBytes} bytes free again, writes resume`);
    }
    if (this.space.low && h.core.role === 'leader') this.#handOffLeadership();
  }

  /** A write hit ENOSPC: low at once, until a check finds two segments (and minFreeBytes) free. */
  markFull(): void {
    if (this.space.markFull(2 * this.#host.log.segmentSizeBytes)) this.#host.logLine(`[${this.#host.id}] ${this.space.error().message}`);
  }

  /** The refusal of a client append, or undefined when this replica may take it. */
  refuseAppend(): RaftLedgerError | undefined {
    return this.space.low && this.#host.core.role === 'leader' ? this.space.error() : undefined;
  }

  /**
   * Try the recently active followers in turn (best match first): one whose disk is low as
   * well ignores TimeoutNow, the core abandons that transfer after an election timeout and
   * the next check tries the next follower.
   */
  #handOffLeadership(): void {
    const h = this.#host;
    const s = h.core.status();
    if (s.transferee !== '') return;
    const candidates = Object.entries(s.progress)
      .filter(([id, p]) => id !== h.id && p.recentActive)
      .sort((a, b) => b[1].match - a[1].match)
      .map(([id]) => id);
    if (candidates.length === 0) return;
    const to = candidates[this.#handOffTurn++ % candidates.length]!;
    try {
      h.core.transferLeadership(to);
      h.logLine(`[${h.id}] cannot write (${this.space.freeBytes} bytes free): handing leadership to ${to}`);
    } catch (error) {
      h.logLine(`[${h.id}] could not hand leadership to ${to}: ${(error as Error).message}`);
    }
    h.processReady();
  }

  /** An incoming message as this replica takes it (undefined: dropped); unchanged unless the disk is low. */
  receive(message: Message): Message | undefined {
    this.#spool.dropIfPast(this.#host.log.firstIndex - 1);
    if (message.type === 'logStart') {
      if (message.producers !== undefined) this.#host.producers?.offered(message.index, message.producers);
      message = this.#spool.receive(message);
    }
    if (!this.space.low) return message;
    if (message.type === 'timeoutNow') {
      this.#noteDropped(`ignored a leadership transfer from ${message.from}`);
      return undefined;
    }
    if (message.type !== 'append' || message.entries.length === 0) return message;
    const last = this.#host.log.lastIndex;
    const entries = message.entries.filter((e) => e.index <= last);
    if (entries.length === message.entries.length) return message;
    this.#noteDropped(`did not store ${message.entries.length - entries.length} entries from ${message.from}`);
    return { ...message, entries };
  }

  /** Whether an outgoing message may go: no vote requests (no campaign) while the disk is low. */
  maySend(message: Message): boolean {
    // The producer base travels with the last chunk: the follower resets only once it has it.
    if (message.type === 'logStart' && message.offset + message.chunk.byteLength === message.snapshotSize && this.#host.producers !== undefined) {
      const base = this.#host.producers.baseBytes();
      if (base !== undefined) message.producers = base;
    }
    if (!this.space.low || (message.type !== 'preVote' && message.type !== 'vote')) return true;
    this.#noteDropped(`did not campaign (${message.type} to ${message.to})`);
    return false;
  }

  #noteDropped(what: string): void {
    const now = Date.now();
    if (now - this.#droppedLoggedAtMs < 10_000) return;
    this.#droppedLoggedAtMs = now;
    this.#host.logLine(`[${this.#host.id}] ${what}: ${this.space.error().message}`);
  }
}
