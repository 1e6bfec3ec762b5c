/**
 * A history of client operations for the checker: every append and read with its
 * invocation and completion time (ms, one monotonic clock) and its outcome.
 *
 * Payloads carry a 16-byte id at their start: 8 bytes of run id (random per run) and a
 * u64 sequence number unique within the run. The checker finds every entry of the run in
 * the replicas' logs by that id, so it can tell each append's copies apart.
 *
 * Outcomes of an append:
 *  - 'ok'      acknowledged with (index, pos): it must be committed exactly there.
 *  - 'failed'  definitely not committed (the server refused it before proposing, or said
 *              it was replaced by another leader's entries, or it never left the client).
 *  - 'unknown' the request may have reached a server and no verdict came back (timeout,
 *              connection lost, server crashed): it may be committed or not, at most once.
 *
 * Duplicates. The workload of `raftledger torture` sends each payload in ONE attempt
 * (it does not use the retrying Client.append; see src/check/workload.ts): a retry is a
 * new operation with a new id. So every id may appear at most once in the log. A
 * history recorded through the retrying Client (at-least-once after an unknown attempt)
 * marks such operations `retried: true`; their payload may then appear more than once,
 * and the checker counts those copies as 'client-retry duplicates', not violations.
 */
import { randomBytes } from 'node:crypto';
import { crc32c } from '../../storage/crc32c.js';

export const ID_BYTES = 16;

export type AppendOutcome = 'ok' | 'failed' | 'unknown';

export interface AppendOp {
  kind: 'append';
  /** Sequence number of the payload id (unique within the run). */
  seq: number;
  invokeMs: number;
  /** Undefined while in flight (an op still in flight at the end is 'unknown'). */
  completeMs?: number;
  outcome: AppendOutcome;
  index?: number;
  pos?: number;
  size: number;
  /** crc32c of the whole payload. */
  crc: number;
  /** The client may have sent this payload more than once (at-least-once retries). */
  retried?: boolean;
  /** Error code or message for failed/unknown. */
  error?: string;
}

export interface ReadOp {
  kind: 'read';
  index: number;
  invokeMs: number;
  completeMs?: number;
  outcome: 'ok' | 'failed' | 'unknown';
  /** What the read returned: null past the end of the log. */
  result?: { seq: number | undefined; pos: number; term: number; crc: number; size: number } | null;
  error?: string;
}

export type Op = AppendOp | ReadOp;

export class History {
  readonly runId: Buffer;
  readonly ops: Op[] = [];
  readonly #origin = performance.now();
  #seq = 0;

  constructor(runId: Buffer = randomBytes(8)) {
    if (runId.byteLength !== 8) throw new RangeError('runId must be 8 bytes');
    this.runId = runId;
  }

  /** Milliseconds since the history began. */
  now(): number {
    return performance.now() - this.#origin;
  }

  /** A fresh payload of `size` (>= 16) bytes: run id, sequence number, then filler. */
  payload(size: number): { seq: number; payload: Buffer } {
    if (size < ID_BYTES) throw new RangeError(`payload size must be at least ${ID_BYTES}`);
    const seq = ++this.#seq;
    const payload = Buffer.alloc(size);
    this.runId.copy(payload, 0);
    payload.writeBigUInt64LE(BigInt(seq), 8);
    for (let i = ID_BYTES; i < size; i++) payload[i] = (seq * 31 + i * 7) & 0xff;
    return { seq, payload };
  }

  /** Record the invocation of an append; complete it with ok()/fail()/unknown(). */
  invokeAppend(seq: number, payload: Uint8Array, retried = false): AppendOp {
    const op: AppendOp = { kind: 'append', seq, invokeMs: this.now(), outcome: 'unknown', size: payload.byteLength, crc: crc32c(payload) };
    if (retried) op.retried = true;
    this.ops.push(op);
    return op;
  }

  invokeRead(index: number): ReadOp {
    const op: ReadOp = { kind: 'read', index, invokeMs: this.now(), outcome: 'unknown' };
    this.ops.push(op);
    return op;
  }

  complete(op: Op, outcome: 'ok' | 'failed' | 'unknown', fields: Partial<AppendOp> | Partial<ReadOp> = {}): void {
    op.completeMs = this.now();
    op.outcome = outcome;
    Object.assign(op, fields);
  }

  /** The id (sequence number) of a payload of this run, or undefined for a foreign payload. */
  seqOf(payload: Uint8Array): number | undefined {
    return seqOf(this.runId, payload);
  }

  toJSON(): { runId: string; ops: Op[] } {
    return { runId: this.runId.toString('hex'), ops: this.ops };
  }
}

export function seqOf(runId: Buffer, payload: Uint8Array): number | undefined {
  if (payload.byteLength < ID_BYTES) return undefined;
  const b = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (!b.subarray(0, 8).equals(runId)) return undefined;
  return Number(b.readBigUInt64LE(8));
}
