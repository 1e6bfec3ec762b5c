/**
 * The producer table of one group's leader (exactly-once appends, issue 14): per producer
 * id its epoch, the next sequence number it may use and the last few runs of sequences it
 * wrote with the indexes they went to. Pure bookkeeping, no I/O: idempotence.ts decides
 * when to rebuild it from the log and how to answer a duplicate.
 *
 * Contracts:
 *  - one update per batch: a batch of N appends with first sequence s is one call of
 *    record() that extends or adds one run [s, s+N) -> [firstIndex, firstIndex+N);
 *  - a run is contiguous in sequence and in index and has one term; at most
 *    RUNS_PER_PRODUCER runs are kept (Kafka keeps the last 5 batches; consecutive batches of
 *    one producer that land back to back in the log merge into one run, so a run may cover
 *    more than one batch);
 *  - at most maxProducers producers (least recently used evicted first). A producer that
 *    is not in the table can start only at sequence 0; anything else is ERR_UNKNOWN_PRODUCER,
 *    so an evicted producer's retry is an error, never a silent duplicate;
 *  - droppedUpTo: the highest log index of an entry whose producer the table no longer
 *    knows (evicted; or not read: older than a rebuild window, a damaged record, a log
 *    start without the leader's base), 0 while it knows every producer of its log. A first
 *    batch (sequence 0) of an unknown producer marked as a retry (sent before, outcome
 *    unknown) is appended only while droppedUpTo is 0: otherwise its first send may be an
 *    entry the table forgot, and it is ERR_UNKNOWN_PRODUCER, never a second copy.
 */
import { RaftLedgerError } from '../errors.js';
import type { ProducerStamp } from '../storage/index.js';

export const RUNS_PER_PRODUCER = 5;
export const DEFAULT_MAX_PRODUCERS = 10_000;

/** Where a run of one producer's sequences went in the log. */
export interface SequenceRun {
  firstSequence: number;
  count: number;
  firstIndex: number;
  term: number;
}

/** One producer's entry (also the unit of the producer table file, producer-file.ts). */
export interface ProducerState {
  epoch: number;
  nextSequence: number;
  /** Oldest first; at most RUNS_PER_PRODUCER. */
  runs: SequenceRun[];
}

/** What admit() decided for a batch. */
export type Admission = { kind: 'new' } | { kind: 'duplicate'; firstIndex: number; term: number };

export class ProducerTable {
  readonly maxProducers: number;
  /** Map order is recency order: the first key is the least recently used. */
  readonly #producers = new Map<number, ProducerState>();
  #evictions = 0;
  #droppedUpTo = 0;

  constructor(maxProducers = DEFAULT_MAX_PRODUCERS) {
    if (!Number.isSafeInteger(maxProducers) || maxProducers < 1) throw new RangeError(`maxProducers must be a positive integer, got ${String(maxProducers)}`);
    this.maxProducers = maxProducers;
  }

  get size(): number {
    return this.#producers.size;
  }

  /** Producers dropped because the table was full. */
  get evictions(): number {
    return this.#evictions;
  }

  /** The highest index of an entry whose producer this table does not know (0: none; see the file comment). */
  get droppedUpTo(): number {
    return this.#droppedUpTo;
  }

  /** The producers of entries up to `index` may be missing from this table (they were not read). */
  markDropped(index: number): void {
    if (index > this.#droppedUpTo) this.#droppedUpTo = index;
  }

  /** A copy of this table (same cap, same recency order); the copy's changes do not touch this one. */
  clone(): ProducerTable {
    const copy = new ProducerTable(this.maxProducers);
    copy.#droppedUpTo = this.#droppedUpTo;
    for (const [id, state] of this.#producers) copy.#producers.set(id, { epoch: state.epoch, nextSequence: state.nextSequence, runs: state.runs.map((r) => ({ ...r })) });
    return copy;
  }

  /**
   * The verdict for a batch of `count` appends whose first entry carries `stamp`: new (to be
   * proposed, then record()ed), a duplicate wholly inside one remembered run (answered from
   * the log at firstIndex), or a typed error (thrown). `retry`: the batch was sent before
   * and its outcome is unknown (see droppedUpTo).
   */
  admit(stamp: ProducerStamp, count: number, retry = false): Admission {
    const state = this.#producers.get(stamp.producerId);
    const who = `producer ${stamp.producerId}`;
    if (state === undefined || stamp.epoch > state.epoch) {
      if (stamp.sequence === 0 && state === undefined && retry && this.#droppedUpTo > 0) {
        throw new RaftLedgerError(
          'ERR_UNKNOWN_PRODUCER',
          `${who} is not in this group's producer table, which has forgotten producers of entries up to index ${this.#droppedUpTo} (evicted, or not read back): this retry of its first batch may be a second copy, so it is not appended; start a new epoch`,
        );
      }
      if (stamp.sequence === 0) return { kind: 'new' };
      if (state === undefined) {
        throw new RaftLedgerError('ERR_UNKNOWN_PRODUCER', `${who} is not in this group's producer table (never used here, evicted, or older than the rebuild window); a producer starts at sequence 0, got ${stamp.sequence}`);
      }
      throw new RaftLedgerError('ERR_SEQUENCE_GAP', `${who} epoch ${stamp.epoch} is new and must start at sequence 0, got ${stamp.sequence}`);
    }
    if (stamp.epoch < state.epoch) throw new RaftLedgerError('ERR_PRODUCER_FENCED', `${who} epoch ${stamp.epoch} is fenced by epoch ${state.epoch}`);
    if (stamp.sequence === state.nextSequence) return { kind: 'new' };
    if (stamp.sequence > state.nextSequence) {
      throw new RaftLedgerError('ERR_SEQUENCE_GAP', `${who} sent sequence ${stamp.sequence}, expected ${state.nextSequence}`);
    }
    const last = stamp.sequence + count - 1;
    for (const run of state.runs) {
      if (stamp.sequence >= run.firstSequence && last < run.firstSequence + run.count) {
        this.#touch(stamp.producerId, state);
        return { kind: 'duplicate', firstIndex: run.firstIndex + (stamp.sequence - run.firstSequence), term: run.term };
      }
    }
    throw new RaftLedgerError(
      'ERR_SEQUENCE_CONFLICT',
      `${who} sent sequences ${stamp.sequence}..${last}, below its next sequence ${state.nextSequence} but not one remembered batch (the table keeps the last ${RUNS_PER_PRODUCER} runs)`,
    );
  }

  /** `count` entries of one producer from stamp.sequence went to firstIndex.. in `term` (one update per batch). */
  record(stamp: ProducerStamp, count: number, firstIndex: number, term: number): void {
    let state = this.#producers.get(stamp.producerId);
    if (state === undefined || stamp.epoch !== state.epoch) {
      state = { epoch: stamp.epoch, nextSequence: 0, runs: [] };
    }
    const tail = state.runs.at(-1);
    if (tail !== undefined && tail.term === term && tail.firstSequence + tail.count === stamp.sequence && tail.firstIndex + tail.count === firstIndex) {
      tail.count += count;
    } else {
      state.runs.push({ firstSequence: stamp.sequence, count, firstIndex, term });
      if (state.runs.length > RUNS_PER_PRODUCER) state.runs.shift();
    }
    state.nextSequence = stamp.sequence + count;
    this.#touch(stamp.producerId, state);
  }

  /** The producers, least recently used first (the producer table file keeps this order). */
  entries(): IterableIterator<[number, Readonly<ProducerState>]> {
    return this.#producers.entries();
  }

  /** Put a producer in as the most recently used (a table read back from its file, oldest first). */
  restore(producerId: number, state: ProducerState): void {
    this.#touch(producerId, { epoch: state.epoch, nextSequence: state.nextSequence, runs: state.runs.map((r) => ({ ...r })) });
  }

  /** The runs remembered for a producer (tests, status). */
  runsOf(producerId: number): readonly SequenceRun[] | undefined {
    return this.#producers.get(producerId)?.runs;
  }

  #touch(producerId: number, state: ProducerState): void {
    this.#producers.delete(producerId);
    this.#producers.set(producerId, state);
    if (this.#producers.size > this.maxProducers) {
      const [oldest, dropped] = this.#producers.entries().next().value as [number, ProducerState];
      this.#producers.delete(oldest);
      this.#evictions++;
      const last = dropped.runs.at(-1);
      // A producer without runs (read back from a file) wrote somewhere at or below what was folded: unknown where.
      this.markDropped(last === undefined ? Number.MAX_SAFE_INTEGER : last.firstIndex + last.count - 1);
    }
  }
}
