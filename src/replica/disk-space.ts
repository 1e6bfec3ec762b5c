/**
 * The free-space guard of one replica: below `minFreeBytes` free on the log's filesystem
 * the replica refuses client appends (ERR_NO_SPACE, retriable), stores no new entries from
 * the leader, does not campaign and, as leader, hands leadership away. It is measured
 * cheaply (one statfs on a timer and after a segment roll, never per append) and lifts
 * by itself once a measurement finds enough space again.
 */
import { RaftLedgerError } from '../errors.js';

/** Default threshold: two segments (the next one and its spare) plus 64 MiB for metadata and index files. */
export function defaultMinFreeBytes(segmentSizeBytes: number): number {
  return 2 * segmentSizeBytes + 64 * 1024 * 1024;
}

export const DEFAULT_SPACE_CHECK_INTERVAL_MS = 1000;

export class DiskSpaceGuard {
  readonly dir: string;
  readonly minFreeBytes: number;
  readonly #measure: () => number;
  /** -1 until measured. */
  #freeBytes = -1;
  #low = false;
  /** While low after a real ENOSPC: free bytes needed to lift (at least minFreeBytes). */
  #liftAtBytes = 0;

  constructor(dir: string, minFreeBytes: number, measure: () => number) {
    if (!Number.isSafeInteger(minFreeBytes) || minFreeBytes < 0) throw new RangeError(`minFreeBytes must be an integer >= 0, got ${String(minFreeBytes)}`);
    this.dir = dir;
    this.minFreeBytes = minFreeBytes;
    this.#measure = measure;
  }

  /** Whether writes are refused (as of the last measurement). */
  get low(): boolean {
    return this.#low;
  }

  get freeBytes(): number {
    return this.#freeBytes;
  }

  /**
   * Measure again; returns whether the state changed. A failed measurement keeps the
   * previous state (the disk itself reports real write failures).
   */
  check(): boolean {
    try {
      this.#freeBytes = this.#measure();
    } catch {
      return false;
    }
    const threshold = this.#low ? Math.max(this.minFreeBytes, this.#liftAtBytes) : this.minFreeBytes;
    const low = threshold > 0 && this.#freeBytes < threshold;
    if (!low) this.#liftAtBytes = 0;
    if (low === this.#low) return false;
    this.#low = low;
    return true;
  }

  /**
   * A write failed with ENOSPC although the last check found enough: low at once, until a
   * check finds at least `needBytes` (and minFreeBytes) free. Returns whether it was not low.
   */
  markFull(needBytes: number): boolean {
    this.#liftAtBytes = Math.max(this.#liftAtBytes, needBytes);
    const changed = !this.#low;
    this.#low = true;
    try {
      this.#freeBytes = this.#measure();
    } catch {
      // keep the last measurement
    }
    return changed;
  }

  error(): RaftLedgerError {
    return new RaftLedgerError(
      'ERR_NO_SPACE',
      this.#liftAtBytes > this.minFreeBytes
        ? `${this.dir} has ${this.#freeBytes} bytes free after a write failed with ENOSPC: appends are refused until ${this.#liftAtBytes} bytes are free`
        : `${this.dir} has ${this.#freeBytes} bytes free, below min-free-bytes ${this.minFreeBytes}: appends are refused until space is freed`,
      { retriable: true, path: this.dir },
    );
  }
}
