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
 * (foldCommitted, called by the lifecycle before each retention pass), so a producer whose
 * entries retention removed while this replica ran is still known (its retry is an error,
 * never a second copy). The base lives in memory: after a restart only the window is known. A leader's log is committed whole before anything of its own
 * term commits (Raft never truncates a leader's log), so the uncommitted tail it inherits
 * counts as written: a retry of such an entry waits for its commit instead of writing a
 * second copy. The rebuild costs at most windowEntries entries read, whatever the log size.
 */
import { RaftLedgerError } from '../errors.js';
import type { Role } from '../raft/index.js';
import { PRODUCER_HEADER_BYTES, type ProducerStamp, type SegmentedLog } from '../storage/index.js';
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
}

/** Ledger.append's options: an abort signal, and the producer stamp of an exactly-once append. */
export interface AppendOptions {
  signal?: AbortSignal;
  producer?: ProducerOptions;
}

export const DEFAULT_PRODUCER_WINDOW_ENTRIES = 100_000;
const WAIT_SLICE_MS = 100;

/** The checked stamp of `options` (TypeError / RangeError on misuse). */
export function producerStampOf(options: ProducerOptions): ProducerStamp {
  if (options === null || typeof options !== 'object') throw new TypeError('append: producer must be an object { producerId, epoch?, sequence }');
  const { producerId, sequence } = options;
  const epoch = options.epoch ?? 0;
  if (!Number.isSafeInteger(producerId) || producerId < 1) throw new RangeError(`append: producerId must be an integer in 1..2^53-1, got ${String(producerId)}`);
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw new RangeError(`append: sequence must be a non-negative safe integer, got ${String(sequence)}`);
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xffff_ffff) throw new RangeError(`append: epoch must be an integer in 0..2^32-1, got ${String(epoch)}`);
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
}

/** prepare()'s verdict: no producer (undefined), a stamp to propose with, or the answer of a duplicate. */
export type Admitted = ProducerStamp | Promise<AppendAck[]> | undefined;

export interface IdempotenceOptions {
  maxProducers?: number | undefined;
  producerWindowEntries?: number | undefined;
}

export class Idempotence {
  readonly #host: IdempotenceHost;
  #table: ProducerTable;
  readonly #windowEntries: number;
  /** Producers of committed entries up to #baseUpTo that retention may remove (foldCommitted). */
  readonly #base: ProducerTable;
  #baseUpTo = 0;
  /** The term the table was rebuilt for; -1: not valid. */
  #tableTerm = -1;

  constructor(host: IdempotenceHost, options: IdempotenceOptions = {}) {
    this.#host = host;
    this.#table = new ProducerTable(options.maxProducers);
    this.#base = new ProducerTable(options.maxProducers);
    const window = options.producerWindowEntries ?? DEFAULT_PRODUCER_WINDOW_ENTRIES;
    if (!Number.isSafeInteger(window) || window < 1) throw new RangeError(`producerWindowEntries must be a positive integer, got ${String(window)}`);
    this.#windowEntries = window;
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
    // What the window at open does not reach is unknown from the start; everything after it
    // is folded before retention removes it (foldCommitted never skips an entry).
    this.#baseUpTo = Math.max(0, this.#host.log.lastIndex - this.#windowEntries);
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
  foldCommitted(beforeIndex: number): void {
    const log = this.#host.log;
    const end = Math.min(beforeIndex, this.#host.commitIndex() + 1, log.lastIndex + 1);
    const from = Math.max(this.#baseUpTo + 1, log.firstIndex);
    try {
      if (from < end) this.#readRuns(this.#base, from, end);
    } catch {
      // A damaged record: those producers stay unknown (ERR_UNKNOWN_PRODUCER), as beyond the window.
    }
    if (end - 1 > this.#baseUpTo) this.#baseUpTo = end - 1;
  }

  /**
   * The verdict for a batch (see the file comment); throws the typed errors. Not the leader:
   * 'new' (the proposal is then refused with ERR_NOT_LEADER as any other).
   */
  admit(stamp: ProducerStamp, payloads: readonly Uint8Array[]): Admission {
    const max = this.#host.log.maxEntrySizeBytes - PRODUCER_HEADER_BYTES;
    for (const p of payloads) {
      if (p.byteLength > max) throw new RaftLedgerError('ERR_ENTRY_TOO_LARGE', `payload of ${p.byteLength} bytes exceeds ${max} (maxEntrySizeBytes less the ${PRODUCER_HEADER_BYTES}-byte producer header)`);
    }
    if (this.#host.core.role !== 'leader') return { kind: 'new' };
    if (this.#tableTerm !== this.#host.core.term) this.#rebuild(this.#host.core.term);
    return this.#table.admit(stamp, payloads.length);
  }

  /** Ledger.append's step before proposing: see Admitted; throws the typed errors and misuse. */
  prepare(producer: ProducerOptions | undefined, payloads: readonly Uint8Array[]): Admitted {
    if (producer === undefined) return undefined;
    const stamp = producerStampOf(producer);
    const verdict = this.admit(stamp, payloads);
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
    this.#readRuns(this.#table, Math.max(this.#baseUpTo + 1, log.firstIndex, end - this.#windowEntries), end);
    // Valid only once read whole: a read that throws leaves the next admit to try again.
    this.#tableTerm = term;
  }

  /** Record into `table` the producer runs of the entries from..end-1 (one record() per run). */
  #readRuns(table: ProducerTable, from: number, end: number): void {
    const log = this.#host.log;
    let next = from;
    let run: { stamp: ProducerStamp; count: number; firstIndex: number; term: number } | undefined;
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
        const r = run;
        if (r !== undefined && r.stamp.producerId === p.producerId && r.stamp.epoch === p.epoch && r.term === e.term && r.firstIndex + r.count === e.index && r.stamp.sequence + r.count === p.sequence) {
          r.count++;
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
