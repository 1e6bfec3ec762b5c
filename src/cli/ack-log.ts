/**
 * What a client was told: every acknowledged append's index, pos and payload checksum,
 * for checking the replicas' logs afterwards. Sized for millions of entries (no
 * argument spreading over the whole set).
 */
import { crc32c } from '../storage/crc32c.js';

export interface AckRecord {
  pos: number;
  crc: number;
  size: number;
}

export class AckLog {
  readonly #acks = new Map<number, AckRecord>();
  #lastIndex = 0;
  #duplicates = 0;

  record(index: number, pos: number, payload: Uint8Array): void {
    if (this.#acks.has(index)) this.#duplicates++;
    if (index > this.#lastIndex) this.#lastIndex = index;
    this.#acks.set(index, { pos, crc: crc32c(payload), size: payload.byteLength });
  }

  get size(): number {
    return this.#acks.size;
  }
  /** Highest acknowledged index (0 when none). */
  get lastIndex(): number {
    return this.#lastIndex;
  }
  /** Indexes acknowledged more than once (a violation: two appends at one index). */
  get duplicates(): number {
    return this.#duplicates;
  }

  /** Acknowledgements in index order. */
  sorted(): Array<[number, AckRecord]> {
    return [...this.#acks.entries()].sort((a, b) => a[0] - b[0]);
  }

  /** Whether `payload` at `pos` is what was acknowledged for `index`. */
  matches(index: number, pos: number, payload: Uint8Array): boolean {
    const want = this.#acks.get(index);
    return want !== undefined && want.pos === pos && want.size === payload.byteLength && want.crc === crc32c(payload);
  }
}
