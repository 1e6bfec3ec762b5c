/**
 * The torture workload: closed-loop appends (and some reads) recorded in a History.
 *
 * It does NOT use Client.append, which retries an append whose outcome is unknown (and so
 * may commit one payload twice). It sends each request ONCE over the client's own
 * connection class and records the outcome exactly as known:
 *  - an 'append' response: ok, with the acknowledged index and pos;
 *  - ERR_NOT_LEADER (not the leader, or "replaced by another leader's entries and will
 *    never commit"), ERR_OVERLOADED, ERR_TRANSFER_IN_PROGRESS, ERR_ENTRY_TOO_LARGE,
 *    ERR_BAD_CONFIG: failed (the server says it is not and will not be committed);
 *  - a request that never reached a socket: failed;
 *  - anything else (timeout, connection lost after sending, ERR_TIMEOUT or ERR_CLOSED
 *    from the server): unknown.
 * The next attempt uses a new payload with a new id, so every id may be committed at
 * most once: any duplicate is a real violation.
 */
import { Pool } from '../../client/pool.js';
import { Client } from '../../client/client.js';
import { AttemptFailure } from '../../client/errors.js';
import { crc32c } from '../../storage/crc32c.js';
import type { ClientResponse } from '../../transport/client-codec.js';
import type { History } from './history.js';
import type { Prng } from './prng.js';

const DEFINITE = new Set(['ERR_NOT_LEADER', 'ERR_OVERLOADED', 'ERR_TRANSFER_IN_PROGRESS', 'ERR_ENTRY_TOO_LARGE', 'ERR_BAD_CONFIG']);

export interface WorkloadOptions {
  servers: string[];
  history: History;
  rng: Prng;
  concurrency: number;
  payloadBytes: number;
  /** Hard bounds: stop after this long or this many operations, whichever first. */
  durationMs: number;
  maxOps: number;
  /** Fraction of operations that are reads of an acknowledged index. */
  readFraction?: number;
  requestTimeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Send appends through the retrying Client.append instead (issue 14): 'idempotent' with
   * exactly-once appends on, 'at-least-once' with them off. Ops are marked `retried`; any
   * error counts as 'unknown' (an attempt may have committed). Default: one attempt each.
   */
  clientRetries?: 'idempotent' | 'at-least-once';
}

export interface WorkloadResult {
  ops: number;
  acknowledged: number;
  /** Longest time without an acknowledged append while the workload ran (ms). */
  maxUnavailableMs: number;
  /** Changes of the server that acknowledged appends. */
  leaderChanges: number;
}

export class Workload {
  readonly #o: WorkloadOptions;
  readonly #pool: Pool;
  #leader: string | undefined;
  #rr = 0;
  #ops = 0;
  #acked = 0;
  #maxAckedIndex = 0;
  #lastAckMs = 0;
  #maxGapMs = 0;
  #lastAcker: string | undefined;
  #leaderChanges = 0;
  #stopAt = 0;
  /** The retrying client of clientRetries mode. */
  readonly #client: Client | undefined;

  constructor(options: WorkloadOptions) {
    this.#o = options;
    const timeout = options.requestTimeoutMs ?? 2000;
    this.#pool = new Pool({ connectTimeoutMs: Math.min(timeout, 1000), requestTimeoutMs: timeout, maxInFlight: 1024 });
    this.#client =
      options.clientRetries === undefined
        ? undefined
        : new Client({ servers: options.servers, idempotent: options.clientRetries === 'idempotent', deadlineMs: 10_000, requestTimeoutMs: timeout, connectTimeoutMs: Math.min(timeout, 1000) });
  }

  get acknowledged(): number {
    return this.#acked;
  }

  get maxAckedIndex(): number {
    return this.#maxAckedIndex;
  }

  /** ms since the last acknowledgement (history clock). */
  sinceLastAck(): number {
    return this.#o.history.now() - this.#lastAckMs;
  }

  async run(): Promise<WorkloadResult> {
    const h = this.#o.history;
    this.#lastAckMs = h.now();
    this.#stopAt = h.now() + this.#o.durationMs;
    await Promise.all(Array.from({ length: this.#o.concurrency }, () => this.#worker()));
    this.#maxGapMs = Math.max(this.#maxGapMs, 0);
    return { ops: this.#ops, acknowledged: this.#acked, maxUnavailableMs: this.#maxGapMs, leaderChanges: this.#leaderChanges };
  }

  /** Stop issuing new operations (in-flight ones finish or time out). */
  stop(): void {
    this.#stopAt = 0;
  }

  async close(): Promise<void> {
    await this.#client?.close();
    await this.#pool.close();
  }

  /** One append through the retrying client (clientRetries mode). */
  async #retryingAppend(client: Client): Promise<boolean> {
    const h = this.#o.history;
    const { seq, payload } = h.payload(this.#o.payloadBytes);
    const op = h.invokeAppend(seq, payload, true);
    try {
      const ack = await client.append(payload);
      h.complete(op, 'ok', { index: ack.index, pos: ack.pos });
      this.#acked++;
      this.#maxAckedIndex = Math.max(this.#maxAckedIndex, ack.index);
      const gap = op.completeMs! - this.#lastAckMs;
      if (gap > this.#maxGapMs) this.#maxGapMs = gap;
      this.#lastAckMs = Math.max(this.#lastAckMs, op.completeMs!);
      return true;
    } catch (error) {
      h.complete(op, 'unknown', { error: `${(error as { code?: string }).code ?? ''} ${(error as Error).message}` });
      return false;
    }
  }

  #target(): string {
    return this.#leader ?? this.#o.servers[this.#rr++ % this.#o.servers.length]!;
  }

  #running(): boolean {
    return this.#o.signal?.aborted !== true && this.#o.history.now() < this.#stopAt && this.#ops < this.#o.maxOps;
  }

  async #send(target: string, request: Parameters<ReturnType<Pool['get']>['send']>[0]): Promise<ClientResponse> {
    return this.#pool.get(target).send(request).promise;
  }

  async #worker(): Promise<void> {
    const { history: h, rng } = this.#o;
    while (this.#running()) {
      this.#ops++;
      const target = this.#target();
      if (this.#maxAckedIndex > 0 && rng.chance(this.#o.readFraction ?? 0.05)) {
        await this.#read(target, rng.int(1, this.#maxAckedIndex));
        continue;
      }
      if (this.#client !== undefined) {
        if (!(await this.#retryingAppend(this.#client))) await new Promise((r) => setTimeout(r, 10 + rng.int(0, 20)));
        continue;
      }
      const { seq, payload } = h.payload(this.#o.payloadBytes);
      const op = h.invokeAppend(seq, payload);
      let ok = false;
      try {
        const response = await this.#send(target, { group: 0, op: 'append', payloads: [payload] });
        if (response.kind === 'append') {
          const ack = response.ok[0]!;
          h.complete(op, 'ok', { index: ack.index, pos: ack.pos });
          ok = true;
          this.#acked++;
          this.#maxAckedIndex = Math.max(this.#maxAckedIndex, ack.index);
          const gap = op.completeMs! - this.#lastAckMs;
          if (gap > this.#maxGapMs) this.#maxGapMs = gap;
          this.#lastAckMs = Math.max(this.#lastAckMs, op.completeMs!);
          if (this.#lastAcker !== undefined && this.#lastAcker !== target) this.#leaderChanges++;
          this.#lastAcker = target;
          this.#leader = target;
        } else if (response.kind === 'error') {
          const code = response.error.code;
          h.complete(op, DEFINITE.has(code) ? 'failed' : 'unknown', { error: `${code}: ${response.error.message}` });
          if (code === 'ERR_NOT_LEADER') {
            const hint = response.error.leaderHint?.address;
            this.#leader = hint !== undefined && hint !== target ? hint : undefined;
          } else {
            this.#leader = undefined;
          }
        } else {
          h.complete(op, 'unknown', { error: `unexpected response ${response.kind}` });
        }
      } catch (error) {
        const sent = error instanceof AttemptFailure ? error.sent : true;
        h.complete(op, sent ? 'unknown' : 'failed', { error: error instanceof Error ? `${(error as { code?: string }).code ?? ''} ${error.message}` : String(error) });
        this.#leader = undefined;
      }
      if (!ok) await new Promise((r) => setTimeout(r, 10 + rng.int(0, 20)));
    }
  }

  async #read(target: string, index: number): Promise<void> {
    const h = this.#o.history;
    const op = h.invokeRead(index);
    try {
      const response = await this.#send(target, { group: 0, op: 'read', index });
      if (response.kind === 'read') {
        const e = response.entry;
        h.complete(
          op,
          'ok',
          e === null ? { result: null } : { result: { seq: e.type === 'normal' ? h.seqOf(e.payload) : undefined, pos: e.pos, term: e.term, crc: crc32c(e.payload), size: e.payload.byteLength } },
        );
      } else {
        h.complete(op, 'failed', { error: response.kind === 'error' ? response.error.code : response.kind });
        if (response.kind === 'error' && response.error.code === 'ERR_NOT_LEADER') this.#leader = response.error.leaderHint?.address;
      }
    } catch (error) {
      h.complete(op, 'unknown', { error: String(error) });
      this.#leader = undefined;
    }
  }
}
