/**
 * Appends waiting for their verdict. A batch of payloads proposed together occupies
 * consecutive indexes in one term. Its verdict comes from the committed log, never
 * from who leads or from a local truncation: once the commit index passes its indexes,
 * the same term there -> resolved (same index and term is the same entry); another term
 * -> rejected (definitively not committed, so safe to retry). A local truncation proves
 * nothing: another replica may still hold the entry and a later leader may commit it.
 * No verdict within the timeout -> ERR_TIMEOUT with an unknown outcome.
 */
import { RaftLedgerError } from '../errors.js';

export interface AppendAck {
  index: number;
  pos: number;
}

export interface PendingBatch {
  firstIndex: number;
  count: number;
  term: number;
  deadlineMs: number;
  /** performance.now() when proposed: commit latency is measured from it. */
  proposedMs: number;
  resolve: (acks: AppendAck[]) => void;
  reject: (error: Error) => void;
}

export class PendingAppends {
  /** Called once per resolved batch with its propose-to-commit latency (ms); one clock read per commit() call. */
  readonly #onCommitted: ((latencyMs: number) => void) | undefined;
  #batches: PendingBatch[] = [];
  #head = 0;
  #entries = 0;

  constructor(onCommitted?: (latencyMs: number) => void) {
    this.#onCommitted = onCommitted;
  }

  /** Entries (not batches) waiting. */
  get size(): number {
    return this.#entries;
  }

  push(batch: PendingBatch): void {
    this.#batches.push(batch);
    this.#entries += batch.count;
  }

  #shift(): PendingBatch | undefined {
    if (this.#head >= this.#batches.length) return undefined;
    const batch = this.#batches[this.#head++]!;
    this.#entries -= batch.count;
    if (this.#head > 1024 && this.#head * 2 > this.#batches.length) {
      this.#batches = this.#batches.slice(this.#head);
      this.#head = 0;
    }
    return batch;
  }

  #peek(): PendingBatch | undefined {
    return this.#batches[this.#head];
  }

  /**
   * Settle every batch wholly at or below `commitIndex`. `termAt(index, expectedTerm)` gives
   * the term stored at index; `posAt(index)` its pos.
   */
  commit(commitIndex: number, termAt: (index: number, expectedTerm: number) => number, posAt: (index: number) => number): void {
    let nowMs = -1;
    const settle = (batch: PendingBatch): void => {
      const last = batch.firstIndex + batch.count - 1;
      let termFirst: number;
      let termLast: number;
      try {
        termFirst = termAt(batch.firstIndex, batch.term);
        termLast = termAt(last, batch.term);
      } catch (error) {
        batch.reject(error as Error);
        return;
      }
      if (termFirst !== batch.term || termLast !== batch.term) {
        batch.reject(replaced(batch));
        return;
      }
      try {
        const acks = new Array<AppendAck>(batch.count);
        for (let i = 0; i < batch.count; i++) acks[i] = { index: batch.firstIndex + i, pos: posAt(batch.firstIndex + i) };
        batch.resolve(acks);
        if (this.#onCommitted !== undefined) {
          if (nowMs < 0) nowMs = performance.now();
          this.#onCommitted(nowMs - batch.proposedMs);
        }
      } catch (error) {
        batch.reject(error as Error);
      }
    };
    for (let batch = this.#peek(); batch !== undefined && batch.firstIndex + batch.count - 1 <= commitIndex; batch = this.#peek()) {
      this.#shift();
      settle(batch);
    }
    // A batch of an earlier leadership can sit at the head with indexes beyond a later
    // batch's (its entries were replaced, and this node leads again with a shorter log):
    // the later ones settle now rather than wait for the commit index to pass the stale one.
    const head = this.#peek();
    if (head === undefined || this.#head + 1 >= this.#batches.length || this.#batches[this.#head + 1]!.firstIndex > commitIndex) return;
    const keep: PendingBatch[] = [head];
    for (let i = this.#head + 1; i < this.#batches.length; i++) {
      const batch = this.#batches[i]!;
      if (batch.firstIndex + batch.count - 1 <= commitIndex) {
        this.#entries -= batch.count;
        settle(batch);
      } else {
        keep.push(batch);
      }
    }
    this.#batches = keep;
    this.#head = 0;
  }

  /** Reject batches whose deadline passed with ERR_TIMEOUT (outcome unknown). */
  expire(nowMs: number): void {
    if (this.#entries === 0) return;
    const keep: PendingBatch[] = [];
    let changed = false;
    for (let i = this.#head; i < this.#batches.length; i++) {
      const batch = this.#batches[i]!;
      if (batch.deadlineMs <= nowMs) {
        changed = true;
        this.#entries -= batch.count;
        batch.reject(
          new RaftLedgerError('ERR_TIMEOUT', `append of index ${batch.firstIndex}..${batch.firstIndex + batch.count - 1} got no verdict in time; it may or may not commit`),
        );
      } else {
        keep.push(batch);
      }
    }
    if (changed) {
      this.#batches = keep;
      this.#head = 0;
    }
  }

  rejectAll(error: Error): void {
    for (let batch = this.#shift(); batch !== undefined; batch = this.#shift()) batch.reject(error);
    this.#batches = [];
    this.#head = 0;
    this.#entries = 0;
  }
}

function replaced(batch: PendingBatch): RaftLedgerError {
  return new RaftLedgerError(
    'ERR_NOT_LEADER',
    `append of index ${batch.firstIndex}..${batch.firstIndex + batch.count - 1} (term ${batch.term}) was replaced by another leader's entries and will never commit; it is safe to retry`,
  );
}
