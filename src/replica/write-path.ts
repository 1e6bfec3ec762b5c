/**
 * The write path of one replica (a Ledger's helper; the Ledger owns the core, the log and
 * the Ready loop and calls in): hard-state saves, entries written to the log, messages held
 * until the disk has what they promise, group-commit flushes and what the core hears of them.
 *
 *  - a term/vote change is saved durably before messages that wait for it go out and
 *    before entries count as stored; commit-only changes are saved lazily (maybeSaveCommit);
 *  - durability 'fsync': one flush at a time, a request during a flush runs again after it;
 *    the core hears markDurable() only after the flush. 'memory': entries count as stored
 *    once in the mapping (markStoredInMemory), a background flush runs on the Ledger's timer;
 *  - entries the log refuses for lack of space (ERR_NO_SPACE, raised before anything of
 *    that run was written) wait, in index order, and are retried after each space check;
 *    the core learns of entries only through markDurable of what the log holds, so none of
 *    these is acknowledged or counted toward a commit meanwhile;
 *  - any failure goes to host.fail() (the Ledger stops with ERR_LOG_FAILED).
 */
import { isRaftLedgerError } from '../errors.js';
import { EntryType, type Entry, type HardState, type Message, type RaftCore } from '../raft/index.js';
import { contiguousRuns, producerRunsOfRecords, verifyRecordCrcs, type ProducerRun, type ProducerSpan, type ProducerStamp, type SegmentedLog } from '../storage/index.js';
import type { LedgerStats } from './ledger-stats.js';
import type { Durability } from './ledger-types.js';
import type { LogLifecycle } from './lifecycle.js';

/** What the write path needs from its Ledger. */
export interface WritePathHost {
  readonly id: string;
  readonly group: number;
  readonly durability: Durability;
  readonly log: SegmentedLog;
  readonly core: RaftCore;
  readonly lifecycle: LogLifecycle;
  readonly stats: LedgerStats;
  /** Appends waiting for a verdict. */
  pendingSize(): number;
  /** Closed or failed: do nothing. */
  stopped(): boolean;
  /** The Ready loop is running. */
  processing(): boolean;
  send(message: Message): void;
  logLine(line: string): void;
  fail(error: Error): void;
  processReady(): void;
  /**
   * Producer runs of entries just written, in index order, one call per written run of
   * entries (idempotence.ts wrote), and a suffix the log replaces from `index` (replaced,
   * called before the entries that replace it are reported).
   */
  producerRunsWritten(runs: readonly ProducerRun[]): void;
  suffixReplaced(index: number): void;
}

/**
 * Why received entries may not reach the core (the tail of the Ledger's "dropped an append
 * from X" line), or undefined when every entry has its record bytes and every record's CRC
 * holds. Their structure is not checked again (the transport's decoder did that).
 */
export function receivedRecordsProblem(entries: readonly Entry[]): string | undefined {
  const records = entries.map((e) => (e as Entry & { record?: Uint8Array }).record);
  if (records.some((r) => r === undefined)) return ' without record bytes';
  try {
    verifyRecordCrcs(contiguousRuns(records as Uint8Array[]));
  } catch (error) {
    return `: ${(error as Error).message}`;
  }
  return undefined;
}

interface HeldMessage {
  message: Message;
  hardStateSeq: number;
  durableIndex: number;
}

export class WritePath {
  readonly #host: WritePathHost;
  readonly #commitSaveIntervalMs: number;
  #held: HeldMessage[] = [];
  #hardStateSeq = 0;
  #hardStateDurableSeq = 0;
  #hardStateBarrier: Promise<void> = Promise.resolve();
  #durableIndex: number;
  #flushWanted = false;
  #flushRunning = false;
  #commitToSave = -1;
  #lastCommitSaveMs = 0;
  /** index -> pos of normal entries this node wrote as leader while appends waited (see Ledger #applyCommitted). */
  readonly #ownPositions = new Map<number, number>();
  /** Segment number of the last written byte, to notice rolls. */
  #writeSegment: number;
  /** Entries the log refused for lack of space, in index order (see the file comment). */
  #unwritten: Entry[] = [];
  /**
   * Index ranges of idempotent batches proposed and not yet written, in index order
   * (idempotence.ts), with the term they were proposed in. A batch the core replaced before
   * it was written (a new leader's entries arrived first) leaves its stamp here: it is
   * dropped when entries from another leader are written over its indexes, and a stamp is
   * applied only to an entry of its own term, so it never lands on a later entry.
   */
  #stamps: Array<{ firstIndex: number; count: number; term: number; stamp: ProducerStamp }> = [];

  constructor(host: WritePathHost, commitSaveIntervalMs: number) {
    this.#host = host;
    this.#commitSaveIntervalMs = commitSaveIntervalMs;
    this.#durableIndex = host.log.flushedIndex;
    this.#writeSegment = Math.floor(host.log.writePos / host.log.segmentSizeBytes);
  }

  /** Highest index the core has been told is stored (flushed in 'fsync' mode). */
  get durableIndex(): number {
    return this.#durableIndex;
  }
  set durableIndex(index: number) {
    this.#durableIndex = index;
  }

  /** index -> pos of entries this node wrote as leader (the Ledger's commit settles and clears them). */
  get ownPositions(): Map<number, number> {
    return this.#ownPositions;
  }

  /** The last term/vote save (close() waits for it). */
  get hardStateBarrier(): Promise<void> {
    return this.#hardStateBarrier;
  }

  /** The `count` entries from firstIndex (just proposed in `term`) carry stamp's producer header, sequences stamp.sequence.. . */
  stamp(firstIndex: number, count: number, term: number, stamp: ProducerStamp): void {
    this.#stamps.push({ firstIndex, count, term, stamp });
  }

  /**
   * The producer spans of `run` (ProducerSpan: offsets into run), one per stretch of a stamp
   * that applies (only when stamps wait), and the producer runs that go with them (pushed to
   * `runs`). A stamp applies to the entries of its indexes that are of its own term; a term
   * check that skips an entry splits the stretch.
   */
  #spansOf(run: Entry[], runs: ProducerRun[]): ProducerSpan[] | undefined {
    if (this.#stamps.length === 0) return undefined;
    const first = run[0]!.index;
    const last = run.at(-1)!.index;
    if (this.#stamps[0]!.firstIndex > last) return undefined;
    const spans: ProducerSpan[] = [];
    for (const s of this.#stamps) {
      if (s.firstIndex > last) break;
      let open: ProducerSpan | undefined;
      for (let k = Math.max(0, first - s.firstIndex); k < s.count && s.firstIndex + k <= last; k++) {
        const at = s.firstIndex + k - first;
        if (run[at]!.term !== s.term) {
          open = undefined;
          continue;
        }
        if (open !== undefined && open.offset + open.count === at) {
          open.count++;
          continue;
        }
        const stamp = k === 0 ? s.stamp : { producerId: s.stamp.producerId, epoch: s.stamp.epoch, sequence: s.stamp.sequence + k };
        spans.push((open = { offset: at, count: 1, stamp }));
      }
    }
    // Spans never overlap (an entry has one term, and one leader proposes an index once per
    // term) and come in index order (#stamps is in proposal order, terms never decrease
    // along a run); sorted anyway, since appendEntries refuses spans out of order.
    if (spans.length > 1) spans.sort((a, b) => a.offset - b.offset);
    for (const span of spans) runs.push({ stamp: span.stamp, count: span.count, firstIndex: first + span.offset, term: run[span.offset]!.term });
    return spans;
  }

  saveHardState(hs: HardState, mustSync: boolean): void {
    const log = this.#host.log;
    if (mustSync) {
      // Term or vote changed: durable before vote replies go out and before entries count as stored.
      const save = log.meta.save({ term: hs.term, votedFor: hs.vote, commitIndex: Math.max(hs.commit, log.meta.hardState.commitIndex) });
      const seq = ++this.#hardStateSeq;
      this.#hardStateBarrier = save.then(() => {
        this.#hardStateDurableSeq = Math.max(this.#hardStateDurableSeq, seq);
        this.#releaseHeld();
      });
      this.#hardStateBarrier.catch((error: unknown) => this.#host.fail(error as Error));
    } else if (hs.commit > this.#commitToSave) {
      // A commit-only change: saved lazily (see maybeSaveCommit), never on the hot path.
      this.#commitToSave = hs.commit;
    }
  }

  /** Send each message now, or hold it until the hard state or the entries it waits for are durable. */
  sendOrHold(messages: readonly Message[]): void {
    for (const m of messages) {
      const needHs = m.waitForHardState === true && this.#hardStateDurableSeq < this.#hardStateSeq;
      const needIndex = m.waitForDurableIndex !== undefined && this.#durableIndex < m.waitForDurableIndex;
      if (needHs || needIndex) {
        this.#held.push({ message: m, hardStateSeq: m.waitForHardState === true ? this.#hardStateSeq : 0, durableIndex: m.waitForDurableIndex ?? 0 });
      } else {
        this.#host.send(m);
      }
    }
  }

  writeEntries(entries: readonly Entry[]): void {
    const h = this.#host;
    const first = entries[0]!.index;
    if (first <= h.log.lastIndex) {
      h.logLine(`[${h.id}] truncating conflicting log suffix group=${h.group} from=${first} last=${h.log.lastIndex} term=${h.core.term}`);
      h.log.truncateSuffix(first).catch((error: unknown) => h.fail(error as Error));
      h.suffixReplaced(first);
      for (const index of this.#ownPositions.keys()) if (index >= first) this.#ownPositions.delete(index);
      this.#stamps = this.#stamps.filter((s) => s.firstIndex + s.count <= first);
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
    const h = this.#host;
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
        h.lifecycle.markFull();
        h.logLine(`[${h.id}] ${this.#unwritten.length} entries from index ${run[0]!.index} wait for free space: ${error.message}`);
        break;
      }
      i = j;
    }
    if (i === 0) return;
    if (h.durability === 'fsync') this.#requestFlush();
    const segment = Math.floor(h.log.writePos / h.log.segmentSizeBytes);
    if (segment !== this.#writeSegment) {
      // A segment roll: look at free space and retention now rather than at the next timer.
      this.#writeSegment = segment;
      setImmediate(() => {
        this.checkSpace();
        h.lifecycle.applyRetention();
      });
    }
  }

  /** One run of received records or own entries; throws before writing anything when a segment cannot be created. */
  #writeRun(run: Entry[], received: boolean): void {
    const log = this.#host.log;
    if (received) {
      // Another leader's entries at run[0].index..last: stamps on those indexes belong to
      // batches replaced before they were written (own entries after the run, in the same
      // Ready, keep theirs).
      if (this.#stamps.length > 0) {
        const from = run[0]!.index;
        const last = run.at(-1)!.index;
        this.#stamps = this.#stamps.filter((s) => s.firstIndex + s.count <= from || s.firstIndex > last);
      }
      // Structure-checked by the decoder and CRC-checked by Ledger.receive() before the core
      // saw them; the bytes are ours alone since.
      const withRecords = run as Array<Entry & { record: Uint8Array }>;
      log.appendRecords(contiguousRuns(withRecords.map((e) => e.record)), { checkedOnArrival: true });
      const produced = producerRunsOfRecords(withRecords);
      if (produced.length > 0) this.#host.producerRunsWritten(produced);
      return;
    }
    const produced: ProducerRun[] = [];
    const result = log.appendEntries(run, true, this.#spansOf(run, produced));
    if (produced.length > 0) this.#host.producerRunsWritten(produced);
    if (this.#stamps.length > 0) {
      // Written: stamps wholly at or below the run's last index are done.
      const last = run.at(-1)!.index;
      while (this.#stamps.length > 0 && this.#stamps[0]!.firstIndex + this.#stamps[0]!.count - 1 <= last) this.#stamps.shift();
    }
    const tracked = this.#host.pendingSize() > 0;
    for (let k = 0; k < run.length; k++) {
      const e = run[k] as Entry & { record?: Uint8Array; pos?: number };
      e.record = result.records[k]!;
      e.pos = result.positions[k]!;
      if (tracked && e.type === EntryType.Normal) this.#ownPositions.set(e.index, e.pos);
    }
  }

  /** A free-space check (timer, roll); entries the disk refused are retried once there is space. */
  checkSpace(): void {
    this.#host.lifecycle.checkSpace();
    this.#retryUnwritten();
  }

  /** Retry entries the disk refused, once a check finds space again. */
  #retryUnwritten(): void {
    const h = this.#host;
    if (this.#unwritten.length === 0 || h.lifecycle.space.low || h.processing() || h.stopped()) return;
    const todo = this.#unwritten;
    this.#unwritten = [];
    try {
      this.#writeRuns(todo);
    } catch (error) {
      h.fail(error as Error);
      return;
    }
    if (h.durability === 'memory') this.markStoredInMemory();
    h.processReady();
  }

  #releaseHeld(): void {
    if (this.#held.length === 0) return;
    const still: HeldMessage[] = [];
    for (const h of this.#held) {
      if (this.#hardStateDurableSeq >= h.hardStateSeq && this.#durableIndex >= h.durableIndex) this.#host.send(h.message);
      else still.push(h);
    }
    this.#held = still;
  }

  #requestFlush(): void {
    if (this.#flushRunning) {
      this.#flushWanted = true;
      return;
    }
    this.#flushRunning = true;
    const barrier = this.#hardStateBarrier;
    const startedMs = performance.now();
    Promise.all([this.#host.log.flush(), barrier]).then(
      ([index]) => {
        this.#host.stats.fsyncLatency.observe((performance.now() - startedMs) / 1000);
        this.#flushRunning = false;
        this.#onDurable(index);
        if (this.#flushWanted) {
          this.#flushWanted = false;
          this.#requestFlush();
        }
      },
      (error: unknown) => {
        this.#flushRunning = false;
        this.#host.fail(error as Error);
      },
    );
  }

  #onDurable(index: number): void {
    const h = this.#host;
    if (h.stopped()) return;
    const bounded = Math.min(index, h.log.lastIndex);
    if (bounded > this.#durableIndex || bounded < this.#durableIndex) {
      this.#durableIndex = bounded;
      if (bounded >= h.log.firstIndex) h.core.markDurable(bounded, h.log.term(bounded));
    }
    this.#releaseHeld();
    h.processReady();
  }

  /** 'memory' mode: written to the mapping counts as stored (after a pending term/vote save). */
  markStoredInMemory(): void {
    const log = this.#host.log;
    const index = log.lastIndex;
    const term = log.lastTerm;
    if (this.#hardStateDurableSeq >= this.#hardStateSeq) {
      this.#durableIndex = index;
      this.#host.core.markDurable(index, term);
      this.#releaseHeld();
    } else {
      this.#hardStateBarrier.then(() => this.#onDurable(log.lastIndex)).catch(() => {});
    }
  }

  /** 'memory' mode's timer: flush what the mapping holds, one flush at a time. */
  backgroundFlush(): void {
    const h = this.#host;
    if (h.stopped() || this.#flushRunning) return;
    if (h.log.flushedIndex >= h.log.lastIndex) return;
    this.#flushRunning = true;
    const startedMs = performance.now();
    h.log.flush().then(
      () => {
        h.stats.fsyncLatency.observe((performance.now() - startedMs) / 1000);
        this.#flushRunning = false;
      },
      (error: unknown) => {
        this.#flushRunning = false;
        h.fail(error as Error);
      },
    );
  }

  /** Commit-only hard-state changes are saved lazily (they are an optimization for restarts). */
  maybeSaveCommit(): void {
    if (this.#commitToSave < 0) return;
    const now = Date.now();
    if (now - this.#lastCommitSaveMs < this.#commitSaveIntervalMs) return;
    const commit = Math.min(this.#commitToSave, this.#durableIndex);
    this.#commitToSave = -1;
    this.#lastCommitSaveMs = now;
    const h = this.#host;
    if (commit <= h.log.meta.hardState.commitIndex) return;
    h.log.meta.save({ commitIndex: commit }).catch((error: unknown) => {
      // A commit-only save is an optimization for restarts: a full disk postpones it.
      if (!isRaftLedgerError(error, 'ERR_NO_SPACE')) return h.fail(error as Error);
      h.lifecycle.markFull();
      this.#commitToSave = Math.max(this.#commitToSave, commit);
    });
  }
}
