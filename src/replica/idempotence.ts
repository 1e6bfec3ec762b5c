/**
 * Exactly-once appends on one replica (issue 14; README.md "Exactly-once appends"): the
 * Ledger hands every append that carries `{ producerId, epoch, sequence }` here before it
 * proposes, and the verdict is one of
 *  - propose it (then record() once per batch, and the write path stamps the entries with
 *    the producer header, docs/FORMAT.md "Producer header");
 *  - a duplicate of a batch this leader's log already holds: answered, once those indexes
 *    are committed, with the original { index, pos } (a retry while the original is still in
 *    flight waits for it); the stored payloads must equal the retried ones byte for byte,
 *    else ERR_SEQUENCE_CONFLICT;
 *  - a typed error (ERR_SEQUENCE_GAP, ERR_PRODUCER_FENCED, ERR_UNKNOWN_PRODUCER,
 *    ERR_SEQUENCE_CONFLICT; producer-table.ts).
 *
 * The table is valid for one leadership: it is rebuilt when this replica first sees an
 * idempotent append as leader of a new term (and once when the replica opens), from the
 * last `windowEntries` entries of its log up to its last index, on top of the committed
 * base: producers folded in from committed entries before retention removed them
 * (committed() folds each committed entry once, in slices, soon after it commits: from the
 * runs the write path reported as written, wrote()/replaced(), and by reading the log only
 * for entries written before this replica opened or reset its log), so a
 * producer whose entries retention or a log reset removed is still known: its retry is an
 * error (ERR_SEQUENCE_CONFLICT), never a second copy.
 *
 * The base is persisted (producer-file.ts, the file `producers` next to the log, written
 * atomically; docs/FORMAT.md "Producer table file"): durably before retention or a log
 * reset removes an entry it covers, and besides every windowEntries/2 committed entries.
 * At open the replica reads it and folds the committed entries after it, so a restart
 * loses nothing and open reads about windowEntries/2 entries whatever the log size. A
 * leader sends its base with a log start; the reset follower takes it as its own. A
 * damaged file is ERR_LOG_CORRUPT at open (delete it to open without it: producers older
 * than the window are then unknown). A leader's log is committed whole before anything of its own
 * term commits (Raft never truncates a leader's log), so the uncommitted tail it inherits
 * counts as written: a retry of such an entry waits for its commit instead of writing a
 * second copy. The rebuild costs at most windowEntries entries read, whatever the log size.
 */
import { RaftLedgerError } from '../errors.js';
import type { Role } from '../raft/index.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromSystemError } from '../errors.js';
import { PRODUCER_HEADER_BYTES, continuesProducerRun, writeFileDurably, type ProducerRun, type ProducerStamp, type SegmentedLog } from '../storage/index.js';
import { PRODUCER_FILE, decodeProducerBase, encodeProducerBase } from './producer-file.js';
import type { AppendAck } from './pending.js';
import { ProducerTable, type Admission } from './producer-table.js';

/** The producer fields of Ledger.append's options. */
export interface ProducerOptions {
  /** 1 .. 2^53-1: who is appending (the network client gets one from the cluster). */
  producerId: number;
  /** Default 0. A higher epoch fences every lower one of the same producer id. */
  epoch?: number;
  /** The first payload's sequence number; a batch of N uses sequence .. sequence + N - 1. */
  sequence: number;
  /**
   * Default false. True when this batch was sent before and its outcome is unknown (a resend
   * after a lost answer). It matters for a producer's first batch (sequence 0) only: the
   * table then refuses it (ERR_UNKNOWN_PRODUCER) if it may have forgotten the producer
   * (README.md "Exactly-once appends"), instead of appending a possible second copy.
   */
  retry?: boolean;
}

/** Ledger.append's options: an abort signal, and the producer stamp of an exactly-once append. */
export interface AppendOptions {
  signal?: AbortSignal;
  producer?: ProducerOptions;
}

export const DEFAULT_PRODUCER_WINDOW_ENTRIES = 100_000;
const WAIT_SLICE_MS = 100;
/** committed() folds at most this many entries per call, so no turn of the event loop reads many. */
const FOLD_SLICE_ENTRIES = 4096;
/** The largest producer base a log start carries (the default 10,000 producers take about 1.8 MB). */
const MAX_SENT_BASE_BYTES = 32 * 1024 * 1024;
/** At most this many written-not-folded runs are queued; past it the queue is dropped and those entries are read back from the log. */
const MAX_QUEUED_RUNS = 65_536;

/** The checked stamp of `options` (TypeError / RangeError on misuse). */
export function producerStampOf(options: ProducerOptions): ProducerStamp {
  if (options === null || typeof options !== 'object') throw new TypeError('append: producer must be an object { producerId, epoch?, sequence }');
  const { producerId, sequence } = options;
  const epoch = options.epoch ?? 0;
  if (!Number.isSafeInteger(producerId) || producerId < 1) throw new RangeError(`append: producerId must be an integer in 1..2^53-1, got ${String(producerId)}`);
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw new RangeError(`append: sequence must be a non-negative safe integer, got ${String(sequence)}`);
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xffff_ffff) throw new RangeError(`append: epoch must be an integer in 0..2^32-1, got ${String(epoch)}`);
  if (options.retry !== undefined && typeof options.retry !== 'boolean') throw new TypeError(`append: producer.retry must be a boolean, got ${typeof options.retry}`);
  return { producerId, epoch, sequence };
}

export interface IdempotenceHost {
  readonly log: SegmentedLog;
  readonly appendTimeoutMs: number;
  readonly core: { readonly role: Role; readonly term: number };
  commitIndex(): number;
  /** Called once at the next commit advance (or close). */
  waitForCommit(wake: () => void): void;
  /** The error a stopped (closed, failed) replica answers with; undefined while it runs. */
  stopped(): Error | undefined;
  /** Where proposed entries get their producer header (write-path.ts). */
  readonly write: { stamp(firstIndex: number, count: number, term: number, stamp: ProducerStamp): void };
  logLine?(line: string): void;
}

/** prepare()'s verdict: no producer (undefined), a stamp to propose with, or the answer of a duplicate. */
export type Admitted = ProducerStamp | Promise<AppendAck[]> | undefined;

export interface IdempotenceOptions {
  maxProducers?: number | undefined;
  producerWindowEntries?: number | undefined;
  /** The log directory: where the producer table file lives (none: the base is not persisted). */
  dir?: string | undefined;
}

export class Idempotence {
  readonly #host: IdempotenceHost;
  #table: ProducerTable;
  readonly #windowEntries: number;
  /** Producers of committed entries up to #baseUpTo that retention may remove (foldCommitted). */
  #base: ProducerTable;
  #baseUpTo = 0;
  /** The term the table was rebuilt for; -1: not valid. */
  #tableTerm = -1;
  readonly #path: string | undefined;
  /** The file holds the base up to this index (-1: nothing saved by this replica yet). */
  #durableUpTo = -1;
  /** The newest base queued for saving. */
  #queuedUpTo = -1;
  /** Saves one at a time, in order (never rejects). */
  #saving: Promise<void> = Promise.resolve();
  /** The base the leader sent with the last chunk of a log start (index: its at.index). */
  #offered: { index: number; bytes: Uint8Array } | undefined;
  /**
   * The producer runs of entries written to the log at or after #trackedFrom and not folded
   * yet, in index order, not overlapping (wrote(); replaced() drops a replaced suffix).
   * Invariant: every producer entry in the log at >= #trackedFrom is covered by exactly one
   * queued run or is already folded (index <= #baseUpTo); so #fold reads the log only below
   * #trackedFrom (entries written before open, a reset, or a dropped queue).
   */
  #written: ProducerRun[] = [];
  #trackedFrom = Number.MAX_SAFE_INTEGER;

  constructor(host: IdempotenceHost, options: IdempotenceOptions = {}) {
    this.#host = host;
    this.#table = new ProducerTable(options.maxProducers);
    this.#base = new ProducerTable(options.maxProducers);
    const window = options.producerWindowEntries ?? DEFAULT_PRODUCER_WINDOW_ENTRIES;
    if (!Number.isSafeInteger(window) || window < 1) throw new RangeError(`producerWindowEntries must be a positive integer, got ${String(window)}`);
    this.#windowEntries = window;
    this.#path = options.dir === undefined ? undefined : join(options.dir, PRODUCER_FILE);
  }

  get table(): ProducerTable {
    return this.#table;
  }

  /**
   * The replica opened: the table from its log (not valid for any leadership yet). A record
   * that fails its check here (a damaged log opened without startupCheck) leaves the table
   * empty: the replica still opens, and the rebuild at its first leadership reports it.
   */
  open(): void {
    this.#written = [];
    this.#trackedFrom = this.#host.log.lastIndex + 1;
    const saved = this.#load();
    if (saved !== undefined) {
      this.#base = saved.table;
      // No producer yet (committed() did not run, so upTo may be far back): as without a file.
      this.#baseUpTo = saved.table.size > 0 ? saved.upTo : Math.max(saved.upTo, this.#host.log.lastIndex - this.#windowEntries);
      this.#durableUpTo = this.#queuedUpTo = saved.upTo;
      this.#fold(this.#host.log.lastIndex + 1);
    } else {
      // No file (a log from before it, or nothing folded yet): what the window at open does
      // not reach is unknown from the start; everything after it is folded once.
      this.#baseUpTo = Math.max(0, this.#host.log.lastIndex - this.#windowEntries);
      this.#base.markDropped(Math.max(this.#baseUpTo, this.#host.log.firstIndex - 1));
    }
    try {
      this.#rebuild(-1);
    } catch {
      this.#table = this.#base.clone();
    }
  }

  /**
   * Entries below `beforeIndex` may be removed (retention, a log reset): fold every committed
   * one not yet folded into the base. Each entry is read once over the replica's life (the
   * ones committed since the previous pass); skipping some when more than windowEntries
   * became removable between two passes let a retry of theirs be appended again.
   */
  foldCommitted(beforeIndex: number): Promise<void> {
    this.#fold(beforeIndex);
    return this.#baseUpTo <= this.#durableUpTo ? Promise.resolve() : this.#save();
  }

  /**
   * The commit index advanced: fold a slice of the newly committed entries (one record() per
   * queued run; a log read only below #trackedFrom); save every windowEntries/2.
   */
  committed(): void {
    const upTo = this.#baseUpTo;
    if (this.#host.commitIndex() <= upTo) return;
    // A group without producers folds too (without reading: the write path reported no runs)
    // and saves its empty base: so a restart knows its whole log has no producer it forgot.
    this.#fold(upTo + 1 + FOLD_SLICE_ENTRIES);
    if (this.#path === undefined || this.#baseUpTo - this.#queuedUpTo < Math.max(1, this.#windowEntries >>> 1)) return;
    this.#save().catch((error: unknown) => this.#host.logLine?.(`producer table not saved (retried later): ${(error as Error).message}`));
  }

  /** Resolves once no save is in flight (close). */
  idle(): Promise<void> {
    return this.#saving;
  }

  /**
   * Leader: the base to send with the last chunk of a log start; undefined when it would not
   * fit a frame beside the chunk (more than MAX_SENT_BASE_BYTES: a maxProducers far above
   * the default), and the follower then knows only what it folded itself.
   */
  baseBytes(): Uint8Array | undefined {
    const bytes = encodeProducerBase(this.#base, this.#baseUpTo);
    return bytes.byteLength <= MAX_SENT_BASE_BYTES ? bytes : undefined;
  }

  /** Follower: the base a leader sent with the log start to after `index`. */
  offered(index: number, bytes: Uint8Array): void {
    this.#offered = { index, bytes: Uint8Array.from(bytes) };
  }

  /**
   * Follower, before its log is reset to start after atIndex: fold what it has committed, take
   * the leader's base when it sent one for this reset that reaches at least as far (it holds
   * every committed entry up to its upTo, ours included: logs match), and save it durably.
   */
  beforeReset(atIndex: number): Promise<void> {
    this.#fold(atIndex + 1);
    const offer = this.#offered;
    this.#offered = undefined;
    if (offer !== undefined && offer.index === atIndex) {
      try {
        const theirs = decodeProducerBase(offer.bytes, 'the leader\'s log start', this.#base.maxProducers);
        if (theirs.upTo >= this.#baseUpTo) {
          this.#base = theirs.table;
          this.#baseUpTo = theirs.upTo;
        }
      } catch (error) {
        this.#host.logLine?.(`ignored the producer table of a log start: ${(error as Error).message}`);
      }
    }
    // Nothing at or below atIndex will be in the log: it is in the base or unknown.
    if (this.#baseUpTo < atIndex) {
      this.#base.markDropped(atIndex);
      this.#baseUpTo = atIndex;
    }
    this.#tableTerm = -1;
    // The reset log is empty and starts after atIndex: every entry it will hold is written after this.
    this.#written = [];
    this.#trackedFrom = atIndex + 1;
    return this.#save();
  }

  #load(): ReturnType<typeof decodeProducerBase> | undefined {
    if (this.#path === undefined) return undefined;
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.#path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fromSystemError(error, `cannot read ${this.#path}`, this.#path);
    }
    return decodeProducerBase(bytes, this.#path, this.#base.maxProducers);
  }

  /** Queue a save of the base as it is now; resolves once durable. */
  #save(): Promise<void> {
    const path = this.#path;
    if (path === undefined) return Promise.resolve();
    const upTo = this.#baseUpTo;
    const bytes = encodeProducerBase(this.#base, upTo);
    this.#queuedUpTo = upTo;
    const done = this.#saving.then(() => writeFileDurably(path, bytes)).then(() => {
      if (upTo > this.#durableUpTo) this.#durableUpTo = upTo;
    });
    this.#saving = done.catch(() => {
      this.#queuedUpTo = this.#durableUpTo;
    });
    return done;
  }

  /**
   * The write path wrote `runs` (in index order, after every run queued so far: a write at
   * an index at or below a queued run calls replaced() first). One call per written batch.
   */
  wrote(runs: readonly ProducerRun[]): void {
    const q = this.#written;
    for (const r of runs) {
      if (r.firstIndex < this.#trackedFrom) continue; // cannot happen after replaced(); read back from the log then
      const tail = q.at(-1);
      if (tail !== undefined && continuesProducerRun(tail, r.stamp, r.firstIndex, r.term)) {
        tail.count += r.count;
      } else {
        q.push({ stamp: r.stamp, count: r.count, firstIndex: r.firstIndex, term: r.term });
      }
    }
    if (q.length > MAX_QUEUED_RUNS) {
      // Far more runs than commits keep up with: forget them; #fold reads those entries back.
      this.#written = [];
      this.#trackedFrom = this.#host.log.lastIndex + 1;
    }
  }

  /** The log's suffix from `index` is replaced (Raft's suffix replacement): queued runs at >= index were not kept. */
  replaced(index: number): void {
    const q = this.#written;
    while (q.length > 0) {
      const tail = q.at(-1)!;
      if (tail.firstIndex >= index) {
        q.pop();
        continue;
      }
      if (tail.firstIndex + tail.count > index) tail.count = index - tail.firstIndex;
      break;
    }
    if (index < this.#trackedFrom) this.#trackedFrom = index;
  }

  /** Fold the committed entries below beforeIndex not folded yet into the base (each entry once). */
  #fold(beforeIndex: number): void {
    const log = this.#host.log;
    const end = Math.min(beforeIndex, this.#host.commitIndex() + 1, log.lastIndex + 1);
    const from = Math.max(this.#baseUpTo + 1, log.firstIndex);
    // What was written before #trackedFrom (open, a reset, a dropped queue): read back from the log.
    const readEnd = Math.min(end, this.#trackedFrom);
    try {
      if (from < readEnd) this.#readRuns(this.#base, from, readEnd);
    } catch {
      // A damaged record: those producers stay unknown (ERR_UNKNOWN_PRODUCER), as beyond the window.
      this.#base.markDropped(readEnd - 1);
    }
    this.#foldWritten(end);
    if (end - 1 > this.#baseUpTo) this.#baseUpTo = end - 1;
  }

  /** Move the queued runs below `end` into the base (one record() per run; a run committed in part is split). */
  #foldWritten(end: number): void {
    const q = this.#written;
    const from = this.#baseUpTo + 1;
    let k = 0;
    for (; k < q.length; k++) {
      const r = q[k]!;
      if (r.firstIndex >= end) break;
      // The part at or below #baseUpTo is folded already (never the case but after a taken base).
      const skip = Math.max(0, from - r.firstIndex);
      const n = Math.min(r.count, end - r.firstIndex) - skip;
      if (n > 0) {
        const stamp = skip === 0 ? r.stamp : { producerId: r.stamp.producerId, epoch: r.stamp.epoch, sequence: r.stamp.sequence + skip };
        this.#base.record(stamp, n, r.firstIndex + skip, r.term);
      }
      if (r.firstIndex + r.count > end) {
        // Committed in part: the rest stays queued.
        const done = end - r.firstIndex;
        q[k] = { stamp: { producerId: r.stamp.producerId, epoch: r.stamp.epoch, sequence: r.stamp.sequence + done }, count: r.count - done, firstIndex: end, term: r.term };
        break;
      }
    }
    if (k > 0) q.splice(0, k);
  }

  /**
   * The verdict for a batch (see the file comment); throws the typed errors. Not the leader:
   * 'new' (the proposal is then refused with ERR_NOT_LEADER as any other).
   */
  admit(stamp: ProducerStamp, payloads: readonly Uint8Array[], retry = false): Admission {
    const max = this.#host.log.maxEntrySizeBytes - PRODUCER_HEADER_BYTES;
    for (const p of payloads) {
      if (p.byteLength > max) throw new RaftLedgerError('ERR_ENTRY_TOO_LARGE', `payload of ${p.byteLength} bytes exceeds ${max} (maxEntrySizeBytes less the ${PRODUCER_HEADER_BYTES}-byte producer header)`);
    }
    if (this.#host.core.role !== 'leader') return { kind: 'new' };
    if (this.#tableTerm !== this.#host.core.term) this.#rebuild(this.#host.core.term);
    return this.#table.admit(stamp, payloads.length, retry);
  }

  /** Ledger.append's step before proposing: see Admitted; throws the typed errors and misuse. */
  prepare(producer: ProducerOptions | undefined, payloads: readonly Uint8Array[]): Admitted {
    if (producer === undefined) return undefined;
    const stamp = producerStampOf(producer);
    const verdict = this.admit(stamp, payloads, producer.retry === true);
    return verdict.kind === 'duplicate' ? this.answer(verdict, stamp, payloads) : stamp;
  }

  /** A proposed batch went to firstIndex.. in `term`: one table update, and its entries get the producer header. */
  proposed(stamp: ProducerStamp, count: number, firstIndex: number, term: number): void {
    if (this.#tableTerm === term) this.#table.record(stamp, count, firstIndex, term);
    this.#host.write.stamp(firstIndex, count, term, stamp);
  }

  /** The original acks of a duplicate, once committed; its stored bytes must equal `payloads`. */
  async answer(dup: { firstIndex: number; term: number }, stamp: ProducerStamp, payloads: readonly Uint8Array[]): Promise<AppendAck[]> {
    const h = this.#host;
    const last = dup.firstIndex + payloads.length - 1;
    const deadlineMs = Date.now() + h.appendTimeoutMs;
    while (h.commitIndex() < last) {
      const stopped = h.stopped();
      if (stopped !== undefined) throw stopped;
      const leftMs = deadlineMs - Date.now();
      if (leftMs <= 0) throw new RaftLedgerError('ERR_TIMEOUT', `the original of producer ${stamp.producerId} sequence ${stamp.sequence} (index ${dup.firstIndex}) got no verdict in time`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(leftMs, WAIT_SLICE_MS));
        timer.unref?.();
        h.waitForCommit(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const stopped = h.stopped();
    if (stopped !== undefined) throw stopped;
    if (dup.firstIndex < h.log.firstIndex) {
      throw new RaftLedgerError('ERR_SEQUENCE_CONFLICT', `producer ${stamp.producerId} sequence ${stamp.sequence} was appended once at index ${dup.firstIndex}, which retention has removed (the log starts at ${h.log.firstIndex}); it is not appended again`);
    }
    const entries = h.log.readRange(dup.firstIndex, last + 1);
    if (entries.length !== payloads.length || entries.some((e) => e.term !== dup.term)) {
      throw new RaftLedgerError('ERR_NOT_LEADER', `the original of producer ${stamp.producerId} sequence ${stamp.sequence} was replaced by another leader's entries; retry`);
    }
    const acks = new Array<AppendAck>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const p = e.producer;
      const same = p !== undefined && p.producerId === stamp.producerId && p.epoch === stamp.epoch && p.sequence === stamp.sequence + i && Buffer.compare(e.data, payloads[i]!) === 0;
      if (!same) {
        throw new RaftLedgerError('ERR_SEQUENCE_CONFLICT', `producer ${stamp.producerId} sequence ${stamp.sequence + i} was already used for other bytes (index ${e.index})`);
      }
      acks[i] = { index: e.index, pos: e.pos };
    }
    return acks;
  }

  /** The table for `term`: the committed base, then the runs of the last windowEntries entries after it. */
  #rebuild(term: number): void {
    const log = this.#host.log;
    this.#table = this.#base.clone();
    this.#tableTerm = -1;
    const end = log.lastIndex + 1;
    const afterBase = Math.max(this.#baseUpTo + 1, log.firstIndex);
    const from = Math.max(afterBase, end - this.#windowEntries);
    // Entries between the base and the window (a commit index far behind): not read.
    if (from > afterBase) this.#table.markDropped(from - 1);
    this.#readRuns(this.#table, from, end);
    // Valid only once read whole: a read that throws leaves the next admit to try again.
    this.#tableTerm = term;
  }

  /** Record into `table` the producer runs of the entries from..end-1 (one record() per run). */
  #readRuns(table: ProducerTable, from: number, end: number): void {
    const log = this.#host.log;
    let next = from;
    let run: ProducerRun | undefined;
    const flush = (): void => {
      if (run !== undefined) table.record(run.stamp, run.count, run.firstIndex, run.term);
      run = undefined;
    };
    while (next < end) {
      const chunk = log.readRange(next, end, 4 * 1024 * 1024);
      if (chunk.length === 0) break;
      for (const e of chunk) {
        const p = e.producer;
        if (p === undefined) continue;
        if (run !== undefined && continuesProducerRun(run, p, e.index, e.term)) {
          run.count++;
          continue;
        }
        flush();
        run = { stamp: p, count: 1, firstIndex: e.index, term: e.term };
      }
      next = chunk.at(-1)!.index + 1;
    }
    flush();
  }
}
