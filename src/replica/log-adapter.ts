/**
 * The Raft core's view of the durable log (LogStorage) over a SegmentedLog.
 * Entries read back carry their on-disk record bytes (`record`) and `pos`, so the
 * transport sends them verbatim.
 */
import { ENTRY_OVERHEAD_BYTES, type Entry, type HardState, type LogStorage } from '../raft/index.js';
import type { SegmentedLog } from '../storage/index.js';
import { isRaftLedgerError } from '../errors.js';
import { entryTypeOf } from '../transport/entry-types.js';
import type { WireEntry } from '../transport/raft-codec.js';

export class SegmentedLogStorage implements LogStorage {
  readonly #log: SegmentedLog;
  readonly #trustPersistedCommit: boolean;
  readonly #onDamaged: ((index: number) => void) | undefined;

  /**
   * `trustPersistedCommit: false` (memory mode): the core starts with only the entries below
   * the first index counted as committed and learns the rest from the leader again. In memory
   * mode a quorum acknowledges from the page cache, so a power loss of every replica can lose
   * entries this replica holds and recorded as committed; the leader elected without them
   * writes other entries at those indexes, and a core that trusted its old commit index would
   * refuse to truncate them and stop for good (test/replica/memory-power-loss.test.ts).
   */
  constructor(log: SegmentedLog, options: { trustPersistedCommit?: boolean; onDamaged?: (index: number) => void } = {}) {
    this.#log = log;
    this.#onDamaged = options.onDamaged;
    this.#trustPersistedCommit = options.trustPersistedCommit ?? true;
  }

  hardState(): HardState {
    const hs = this.#log.hardState;
    // After a machine crash a torn tail may end before the persisted commit index.
    const commit = Math.min(hs.commitIndex, this.#log.lastIndex);
    return { term: hs.term, vote: hs.votedFor, commit: this.#trustPersistedCommit ? commit : Math.min(commit, this.#log.firstIndex - 1) };
  }

  firstIndex(): number {
    return this.#log.firstIndex;
  }

  lastIndex(): number {
    return this.#log.lastIndex;
  }

  /**
   * Byte position of the record of firstIndex() (sent in a log start, docs/RAFT.md): the
   * first record's pos, or for an empty log where its next record goes.
   */
  startPos(): number {
    const log = this.#log;
    return log.lastIndex >= log.firstIndex ? log.posOf(log.firstIndex) : log.writePos;
  }

  term(index: number): number | undefined {
    if (index < this.#log.firstIndex - 1 || index > this.#log.lastIndex) return undefined;
    return this.#log.term(index);
  }

  /**
   * Entries with their on-disk record (`record`, sent verbatim by the transport) and `pos`.
   * readRange stops once it has collected maxBytes (so it may pass it by one entry); the
   * LogStorage contract stops before the total would exceed maxBytes, hence the cut.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    let read;
    try {
      read = this.#log.readRange(lo, hi, maxBytes);
    } catch (error) {
      // A damaged record (issue 16) cannot be sent: report it (the replica lists it, its
      // guard makes a leader step down) and send nothing from it; the core retries later.
      if (this.#onDamaged === undefined || !isRaftLedgerError(error) || (error.code !== 'ERR_LOG_DAMAGED' && error.code !== 'ERR_LOG_CORRUPT')) throw error;
      this.#onDamaged(lo);
      return [];
    }
    const out: Entry[] = [];
    let bytes = 0;
    for (const e of read) {
      bytes += e.data.byteLength + ENTRY_OVERHEAD_BYTES;
      if (bytes > maxBytes && out.length > 0) break;
      const wire: WireEntry & { pos: number } = { index: e.index, term: e.term, type: entryTypeOf(e.type), data: e.data, record: e.record, pos: e.pos };
      out.push(wire);
    }
    return out;
  }
}
