/**
 * Appends of one event-loop turn, sent as one request per group (a Kafka producer batch
 * without linger time).
 *
 * Contract, as seen by each `append` caller:
 * - An append issued while nothing of this client's is in flight or collecting is sent at
 *   once, alone: a client that appends one at a time pays no added latency.
 * - Otherwise it joins the group's open batch, which is sent when the turn's I/O callbacks
 *   and microtasks are done (setImmediate), or earlier when it reaches `maxBatchPayloads`
 *   or `maxBatchBytes`. Payloads larger than `maxCoalescedPayloadBytes` always go alone.
 * - A batch is one request: one log append on the leader (one proposal, consecutive indexes
 *   in call order), one exactly-once stamp covering all of its payloads, one response.
 *   Each caller gets its own `{ index, pos }`.
 * - A batch that fails rejects every append in it with the same error, except an error that
 *   can belong to one payload (ERR_ENTRY_TOO_LARGE): the batch was refused as a whole, so
 *   each of its appends is sent again alone and gets its own verdict.
 */
import { RaftLedgerError } from '../errors.js';

export interface AppendResult {
  index: number;
  pos: number;
}

export interface AppendCoalescerOptions {
  /** Send one request carrying `payloads` for `group`; resolves with one result per payload, in order. */
  send(group: number, payloads: Uint8Array[]): Promise<AppendResult[]>;
  maxBatchPayloads?: number;
  maxBatchBytes?: number;
  maxCoalescedPayloadBytes?: number;
}

export const DEFAULT_MAX_BATCH_PAYLOADS = 1024;
export const DEFAULT_MAX_BATCH_BYTES = 1024 * 1024;
export const DEFAULT_MAX_COALESCED_PAYLOAD_BYTES = 64 * 1024;

interface Waiter {
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

interface Batch {
  payloads: Uint8Array[];
  waiters: Waiter[];
  bytes: number;
}

/** Errors that can be caused by one payload of a batch: the batch's appends are retried alone. */
const PER_PAYLOAD_CODES: ReadonlySet<string> = new Set(['ERR_ENTRY_TOO_LARGE']);

export class AppendCoalescer {
  readonly #send: AppendCoalescerOptions['send'];
  readonly #maxBatchPayloads: number;
  readonly #maxBatchBytes: number;
  readonly #maxCoalescedPayloadBytes: number;
  /** group -> the batch collecting this turn. */
  readonly #open = new Map<number, Batch>();
  #inFlight = 0;
  #flushScheduled = false;
  #requests = 0;

  constructor(options: AppendCoalescerOptions) {
    this.#send = options.send;
    this.#maxBatchPayloads = options.maxBatchPayloads ?? DEFAULT_MAX_BATCH_PAYLOADS;
    this.#maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.#maxCoalescedPayloadBytes = options.maxCoalescedPayloadBytes ?? DEFAULT_MAX_COALESCED_PAYLOAD_BYTES;
  }

  /** Requests sent so far (each carries one or more appends). */
  get requests(): number {
    return this.#requests;
  }

  append(group: number, payload: Uint8Array): Promise<AppendResult> {
    if (payload.byteLength > this.#maxCoalescedPayloadBytes || (this.#inFlight === 0 && this.#open.size === 0)) {
      return this.#dispatchOne(group, payload);
    }
    let batch = this.#open.get(group);
    if (batch !== undefined && (batch.payloads.length >= this.#maxBatchPayloads || batch.bytes + payload.byteLength > this.#maxBatchBytes)) {
      this.#open.delete(group);
      this.#dispatch(group, batch);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = { payloads: [], waiters: [], bytes: 0 };
      this.#open.set(group, batch);
    }
    const open = batch;
    open.payloads.push(payload);
    open.bytes += payload.byteLength;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flush);
    }
    return new Promise<AppendResult>((resolve, reject) => open.waiters.push({ resolve, reject }));
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const open = [...this.#open];
    this.#open.clear();
    for (const [group, batch] of open) this.#dispatch(group, batch);
  };

  #dispatchOne(group: number, payload: Uint8Array): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => this.#dispatch(group, { payloads: [payload], waiters: [{ resolve, reject }], bytes: payload.byteLength }));
  }

  #dispatch(group: number, batch: Batch): void {
    this.#inFlight++;
    this.#requests++;
    let sent: Promise<AppendResult[]>;
    try {
      sent = this.#send(group, batch.payloads);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(
      (results) => {
        this.#inFlight--;
        batch.waiters.forEach((w, i) => w.resolve(results[i]!));
      },
      (error: unknown) => {
        this.#inFlight--;
        if (batch.payloads.length > 1 && error instanceof RaftLedgerError && PER_PAYLOAD_CODES.has(error.code)) {
          batch.payloads.forEach((payload, i) => this.#dispatchOne(group, payload).then(batch.waiters[i]!.resolve, batch.waiters[i]!.reject));
          return;
        }
        for (const w of batch.waiters) w.reject(error);
      },
    );
  }
}
