/**
 * The raftledger network client: leader discovery, redirects, retries.
 *
 * Routing. Appends and reads go to the server believed to be the leader (at
 * first, the server connect() reached). ERR_NOT_LEADER with a leader address
 * switches to that address (one pooled connection per address) and retries at
 * once; without an address, the next server in `servers` is tried (round
 * robin). A successful append confirms its server as the leader.
 *
 * Retries. Until the operation's deadline (deadlineMs, total) the client
 * retries, with backoff of 10 ms doubling to 200 ms (jittered; to 50 ms while
 * looking for the leader: ERR_NOT_LEADER, connection failures, sequence gaps,
 * and such a sleep ends early when an append of the same group succeeds or a
 * server names a new leader, so a failover costs the election, not the
 * election plus the last backoff):
 *  - errors the server flags retriable (ERR_OVERLOADED, ERR_UNAVAILABLE, ...);
 *  - connection failures (refused, reset, closed, malformed response frame) and
 *    per-attempt timeouts (requestTimeoutMs): these move on to the next server.
 * Non-retriable server errors reject at once, as a RaftLedgerError with the
 * server's code (kept as given even when this version does not know it),
 * message and leader hint. When the deadline passes the operation rejects
 * with ERR_TIMEOUT (cause: the last failure); abort rejects with ERR_ABORTED
 * (cause: signal.reason) and close() with ERR_CLOSED.
 *
 * Delivery of appends: EXACTLY ONCE by default (producer.ts, README.md
 * "Exactly-once appends"): each append carries the client's producer id and
 * its sequence numbers, so a retry after an unknown outcome (the connection
 * broke after the append was written, or the attempt timed out) is answered
 * by the leader with the original { index, pos } instead of being appended
 * again; ERR_SEQUENCE_GAP (an earlier append of this client not yet there) is
 * retried like a retriable error. With { idempotent: false }: AT-LEAST-ONCE
 * ON RETRY AFTER AN UNKNOWN OUTCOME: the payload may end up in the log twice,
 * once from the lost attempt and once from the retry.
 * Appends that fail before their bytes reached the socket, or that the server
 * refused with an error, are retried without that risk. If the deadline (or
 * an abort, or close()) ends an append after such an unknown outcome, the
 * error message says the outcome is unknown. Callers that need exactly-once
 * must make payloads idempotent (e.g. carry a unique id and dedupe on read).
 * Reads and status are idempotent and retried freely.
 */
import { raftLedgerErrorFromWire, RaftLedgerError } from '../errors.js';
import type { LedgerEntry } from '../entry.js';
import { WIRE_CONSISTENCY, type ClientResponse, type WireConsistency, type WireMemberChange } from '../transport/client-codec.js';
import { Backoff, BACKOFF_LEADERLESS_MAX_MS } from './backoff.js';
import type { Connection, Request } from './connection.js';
import { AttemptFailure, closedError, isSecurityFailure } from './errors.js';
import { Operation, Stopped } from './operation.js';
import {
  checkAddress,
  checkIndex,
  checkOpOptions,
  checkPayload,
  resolveOptions,
  tryAddress,
  type ConnectOptions,
  type OpOptions,
  type ResolvedOptions,
  type StatusOptions,
} from './options.js';
import { AppendCoalescer, type AppendResult } from './append-coalescer.js';
import { Pool } from './pool.js';
import { ClusterCheck } from './hello.js';
import { ClientProducer } from './producer.js';
import { DeadlineQueue } from './deadlines.js';
import * as reads from './reads.js';

export type { ConnectOptions, OpOptions, StatusOptions } from './options.js';
export type { ReadRangeOptions, TailOptions } from './reads.js';

export type { AppendResult } from './append-coalescer.js';

/**
 * Some fields of the status object a server reports for a group (Ledger.status() on the
 * server; see the README): what status() resolves with may be narrowed to this. Servers
 * of other versions may lack fields, hence all optional.
 */
export interface ReplicaStatusFields {
  id?: string;
  role?: string;
  term?: number;
  leader?: string;
  /** First retained index and the pos of its entry (retention removes whole segments below the commit index). */
  firstIndex?: number;
  firstPos?: number;
  lastIndex?: number;
  commitIndex?: number;
  durableIndex?: number;
  /** Bytes the segment files take on disk, and from the first segment to the write position. */
  diskBytes?: number;
  logBytes?: number;
  /** Free bytes on the data filesystem at the last check; noSpace: appends are refused (ERR_NO_SPACE). */
  freeBytes?: number;
  noSpace?: boolean;
  /** On the leader: per follower; catchUp: it needs entries below the leader's first index. */
  followers?: Record<string, { match: number; next: number; lag: number; active: boolean; state: string; catchUp: boolean }>;
}

export interface ServerStatus {
  server: string;
  status?: Record<string, unknown>;
  error?: string;
}

interface RunOptions {
  signal?: AbortSignal | undefined;
  /** Talk to this server only (no redirects, no failover). */
  pinned?: string | undefined;
  /** One attempt: any failure rejects (statusAll). */
  once?: boolean;
}

/** A copy when the payload is a small view of a larger (socket) buffer, so it does not pin it. */
function ownPayload(payload: Uint8Array): Buffer {
  const view = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return payload.buffer.byteLength > 2 * payload.byteLength + 64 ? Buffer.from(view) : view;
}

/** connect()'s access to Client#establish (kept off the public surface). */
let establish: (client: Client) => Promise<void>;

export class Client {
  readonly #options: ResolvedOptions;
  readonly #pool: Pool;
  /** Operations in progress, with their deadline (one timer for all of them). */
  readonly #ops: DeadlineQueue<Operation>;
  /** Raft group -> the address believed to lead it (groups are led by different servers). */
  readonly #leaders = new Map<number, string>();
  /**
   * Raft group -> the wake-up of the operations of that group asleep in a leaderless backoff
   * (after ERR_NOT_LEADER, a connection failure or a sequence gap). It settles, and is
   * dropped, when the client learns something that makes a retry worth doing now: an append
   * of the group succeeded (its server leads; an earlier append of this producer landed) or
   * a server hinted a leader other than the one last found unreachable. Created only while
   * someone sleeps, so the steady state costs one map lookup per acknowledged append.
   */
  readonly #wakers = new Map<number, { woken: Promise<void>; wake: () => void }>();
  /** Raft group -> the address of its last connection failure (a hint to it wakes nobody). */
  readonly #unreachable = new Map<number, string>();
  /** The server most recently talked to successfully. */
  #current: string;
  #rr = 0;
  #closing: Promise<void> | undefined;
  /** The producer identity of exactly-once appends; undefined with { idempotent: false }. */
  readonly #producer: ClientProducer | undefined;
  /** Appends without a signal, sent together per turn; undefined with { batchAppends: false }. */
  readonly #coalescer: AppendCoalescer | undefined;
  readonly #cluster: ClusterCheck;

  static {
    establish = (client) => client.#establish();
  }

  /**
   * A client that connects lazily, on its first operation. connect() is the
   * usual entry: it also waits until some server accepts a connection.
   */
  constructor(options: ConnectOptions) {
    const resolved = resolveOptions(options);
    this.#options = resolved;
    this.#current = resolved.servers[0]!;
    this.#ops = new DeadlineQueue(resolved.deadlineMs, (op) => op.halt('deadline'));
    const cluster = new ClusterCheck(resolved);
    this.#cluster = cluster;
    this.#pool = new Pool({
      hello: (info, address) => cluster.check(info, address),
      connectTimeoutMs: resolved.connectTimeoutMs,
      requestTimeoutMs: resolved.requestTimeoutMs,
      maxInFlight: resolved.maxInFlight,
      ...(resolved.tls !== undefined ? { tls: resolved.tls } : {}),
      ...(resolved.authFrame !== undefined ? { authFrame: resolved.authFrame } : {}),
    });
    this.#producer = resolved.idempotent
      ? new ClientProducer(async () => {
          const response = await this.#run({ op: 'producerId', group: resolved.group }, {});
          const r = response as Extract<ClientResponse, { kind: 'producerId' }>;
          return { producerId: r.producerId, epoch: r.epoch };
        })
      : undefined;
    this.#coalescer = resolved.batchAppends
      ? new AppendCoalescer({
          send: async (group, payloads) => {
            const response = await this.#append(group, payloads, {});
            return (response as Extract<ClientResponse, { kind: 'append' }>).ok;
          },
        })
      : undefined;
  }

  /** Address ('host:port') currently believed to lead the default group, if any. */
  get leader(): string | undefined {
    return this.#leaders.get(this.#options.group);
  }

  /** Address ('host:port') currently believed to lead `group`, if any. */
  leaderOf(group: number): string | undefined {
    return this.#leaders.get(group);
  }

  /** The uid of the cluster this client talks to (client hello; undefined until a server answered, unless given to connect). */
  get clusterUid(): string | undefined {
    return this.#cluster.uid;
  }

  /** The configured servers, canonical 'host:port'. */
  get servers(): readonly string[] {
    return this.#options.servers;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  async append(payload: Uint8Array, options?: OpOptions): Promise<AppendResult> {
    checkPayload(payload, 'append: payload');
    const o = checkOpOptions(options, 'append');
    const group = o.group ?? this.#options.group;
    if (this.#coalescer !== undefined && o.signal === undefined) {
      const { index, pos } = await this.#coalescer.append(group, payload);
      return { index, pos };
    }
    const response = await this.#append(group, [payload], o);
    const ok = (response as Extract<ClientResponse, { kind: 'append' }>).ok[0]!;
    return { index: ok.index, pos: ok.pos };
  }

  async appendBatch(payloads: Uint8Array[], options?: OpOptions): Promise<AppendResult[]> {
    if (!Array.isArray(payloads)) throw new TypeError('appendBatch: payloads must be an array of Uint8Arrays');
    if (payloads.length === 0) throw new RangeError('appendBatch: payloads must not be empty');
    if (payloads.length > 0xffff_ffff) throw new RangeError('appendBatch: too many payloads');
    payloads.forEach((p, i) => checkPayload(p, `appendBatch: payloads[${i}]`));
    const o = checkOpOptions(options, 'appendBatch');
    const response = await this.#append(o.group ?? this.#options.group, [...payloads], o);
    return (response as Extract<ClientResponse, { kind: 'append' }>).ok.map(({ index, pos }) => ({ index, pos }));
  }

  /** One append call: stamped with the producer's next sequences unless idempotence is off. */
  async #append(group: number, payloads: Uint8Array[], o: RunOptions): Promise<ClientResponse> {
    if (this.#producer === undefined) return this.#run({ op: 'append', group, payloads }, o);
    if (this.#closing !== undefined) throw closedError();
    const producer = await this.#producer.stamp(group, payloads.length);
    try {
      const response = await this.#run({ op: 'append', group, payloads, producer }, o);
      this.#producer.succeeded(group, producer);
      return response;
    } catch (error) {
      this.#producer.failed(group, producer);
      throw error;
    }
  }

  /** The committed entry at `index`, or null past the end of the log. */
  async read(index: number, options?: OpOptions): Promise<LedgerEntry | null> {
    checkIndex(index);
    const o = checkOpOptions(options, 'read');
    const response = await this.#run({ op: 'read', group: o.group ?? this.#options.group, index }, o);
    const entry = (response as Extract<ClientResponse, { kind: 'read' }>).entry;
    if (entry === null) return null;
    return { index: entry.index, term: entry.term, pos: entry.pos, type: entry.type, payload: ownPayload(entry.payload) };
  }

  /**
   * `{ index, pos }` of the group's last committed entry at `consistency` (README,
   * "Reads and consistency levels"): 'linearizable' (default) and 'lease' ask the
   * leader; 'follower' asks the servers in turn, starting with the next one, so such
   * reads spread over the replicas, and moves on when one refuses.
   */
  async commitPosition(options: OpOptions & { consistency?: WireConsistency; maxLagMs?: number } = {}): Promise<{ index: number; pos: number }> {
    const o = checkOpOptions(options, 'commitPosition');
    const consistency = options.consistency ?? 'linearizable';
    if (!WIRE_CONSISTENCY.includes(consistency)) throw new RangeError(`commitPosition: consistency must be one of ${WIRE_CONSISTENCY.join(', ')}, got ${String(consistency)}`);
    const maxLagMs = options.maxLagMs ?? 0; // 0: the server's default
    if (!Number.isSafeInteger(maxLagMs) || maxLagMs < 0 || maxLagMs > 0xffff_ffff) throw new RangeError(`commitPosition: maxLagMs must be a positive integer, got ${String(maxLagMs)}`);
    const request: Request = { op: 'commitPosition', group: o.group ?? this.#options.group, consistency, maxLagMs };
    const r = (consistency === 'follower' ? await reads.followerRun(this.#readContext(), request, o.signal) : await this.#run(request, { signal: o.signal })) as Extract<
      ClientResponse,
      { kind: 'commitPosition' }
    >;
    return { index: r.index, pos: r.pos };
  }

  /** Committed entries from `from`, in index order, system entries left out by default; [] past the end (reads.ts). */
  readRange(from: number, options?: reads.ReadRangeOptions): Promise<LedgerEntry[]> {
    return reads.readRange(this.#readContext(), from, options);
  }

  /** Every committed entry from `from` on, waiting for new ones, resumable across failover (a long-polling readRange; reads.ts). */
  tail(from: number, options?: reads.TailOptions): AsyncGenerator<LedgerEntry> {
    return reads.tail(this.#readContext(), from, reads.checkTailArguments(from, options));
  }

  #readContext(): reads.ReadContext {
    const servers = this.#options.servers;
    return {
      run: (request, o) => this.#run(request, o),
      group: this.#options.group,
      servers,
      nextServer: () => servers[this.#rr++ % servers.length]!,
      requestTimeoutMs: this.#options.requestTimeoutMs,
    };
  }

  /**
   * The status object one server reports (as it reports it, leader id included):
   * `server` if given (that server only), else the server of the current
   * connection (failing over to the others if it is unreachable).
   */
  async status(options?: StatusOptions): Promise<Record<string, unknown>> {
    const o = checkOpOptions(options, 'status');
    const pinned = o.server !== undefined ? checkAddress(o.server) : undefined;
    const response = await this.#run({ op: 'status', group: o.group ?? this.#options.group }, { signal: o.signal, pinned });
    return (response as Extract<ClientResponse, { kind: 'status' }>).status;
  }

  /**
   * The group's configuration in force (voters and learners with their addresses; with lag
   * and activity when the answering server leads): asked of `server` if given, else of the
   * leader as far as known.
   */
  async members(options?: StatusOptions): Promise<Record<string, unknown>> {
    const o = checkOpOptions(options, 'members');
    const pinned = o.server !== undefined ? checkAddress(o.server) : undefined;
    const response = await this.#run({ op: 'members', group: o.group ?? this.#options.group }, { signal: o.signal, pinned });
    return (response as Extract<ClientResponse, { kind: 'members' }>).members;
  }

  /**
   * One membership change (addLearner needs `address`, 'host:raftPort[/clientPort]'), sent to
   * the leader; resolves with the configuration once the change is committed. A refusal is a
   * RaftLedgerError (ERR_CONF_CHANGE_INVALID, ERR_LEARNER_BEHIND, ERR_LAST_VOTER; the retriable
   * ERR_CONF_CHANGE_IN_FLIGHT and ERR_NOT_COMMITTED_IN_TERM are retried within the deadline).
   */
  async changeMembers(change: WireMemberChange, options?: OpOptions): Promise<Record<string, unknown>> {
    if (change === null || typeof change !== 'object') throw new TypeError('changeMembers: change must be { type, id, address?, force? }');
    const o = checkOpOptions(options, 'changeMembers');
    const response = await this.#run({ op: 'changeMembers', group: o.group ?? this.#options.group, change: { ...change } }, o);
    return (response as Extract<ClientResponse, { kind: 'members' }>).members;
  }

  /** Ask every configured server once, in parallel; failures are reported per server. */
  async statusAll(options?: Omit<StatusOptions, 'server'>): Promise<ServerStatus[]> {
    const o = checkOpOptions(options, 'statusAll');
    const group = o.group ?? this.#options.group;
    return Promise.all(
      this.#options.servers.map(async (server): Promise<ServerStatus> => {
        try {
          const response = await this.#run({ op: 'status', group }, { signal: o.signal, pinned: server, once: true });
          return { server, status: (response as Extract<ClientResponse, { kind: 'status' }>).status };
        } catch (error) {
          if (error instanceof RaftLedgerError && error.code === 'ERR_CLOSED') throw error;
          const e = error as { code?: unknown; message?: unknown };
          const text = typeof e?.message === 'string' ? e.message : String(error);
          return { server, error: typeof e?.code === 'string' ? `${e.code}: ${text}` : text };
        }
      }),
    );
  }

  /** Close every connection; operations in flight reject with ERR_CLOSED. Idempotent. */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      for (const op of this.#ops.drain()) op.halt('closed');
      this.#closing = this.#pool.close();
    }
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Reach some server (round robin from the first) within the deadline; used by connect(). */
  async #establish(): Promise<void> {
    if (this.#closing !== undefined) throw closedError();
    const op = new Operation(undefined);
    this.#ops.add(op);
    const backoff = new Backoff();
    const { servers } = this.#options;
    let last: unknown;
    try {
      for (let i = 0; ; i++) {
        const address = servers[i % servers.length]!;
        try {
          await op.wait(this.#pool.get(address).ready);
          this.#current = address;
          return;
        } catch (error) {
          if (error instanceof Stopped || isSecurityFailure(error)) throw error;
          last = error;
        }
        if (i % servers.length === servers.length - 1) await op.sleep(backoff.next());
      }
    } catch (error) {
      if (!(error instanceof Stopped)) throw error;
      if (op.stopped === 'closed') throw closedError();
      throw new RaftLedgerError('ERR_UNAVAILABLE', `could not connect to any of ${servers.join(', ')} within ${this.#options.deadlineMs} ms`, {
        cause: last,
        retriable: true,
      });
    } finally {
      op.dispose();
      this.#ops.delete(op);
    }
  }

  /** The promise that settles when group `group`'s sleepers should retry (see #wakers). */
  #wakeupOf(group: number): Promise<void> {
    let w = this.#wakers.get(group);
    if (w === undefined) {
      let wake!: () => void;
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
      });
      w = { woken, wake };
      this.#wakers.set(group, w);
    }
    return w.woken;
  }

  /**
   * The backoff of an operation of `group` looking for its leader: at most
   * BACKOFF_LEADERLESS_MAX_MS, ended early by news of the leader (see #wakers). True when
   * woken, and the backoff starts again from its minimum; rejects with Stopped as op.sleep.
   */
  async #sleepLeaderless(op: Operation, backoff: Backoff, group: number): Promise<boolean> {
    const woken = await op.sleepUnless(backoff.next(BACKOFF_LEADERLESS_MAX_MS), this.#wakeupOf(group));
    if (woken) backoff.reset();
    return woken;
  }

  /** Wake the operations of `group` asleep in a leaderless backoff (no-op when none sleeps). */
  #wakeSleepers(group: number): void {
    const w = this.#wakers.get(group);
    if (w === undefined) return;
    this.#wakers.delete(group);
    w.wake();
  }

  /** The server after `address` in round-robin order. */
  #after(address: string): string {
    const { servers } = this.#options;
    const i = servers.indexOf(address);
    if (i >= 0) return servers[(i + 1) % servers.length]!;
    return servers[this.#rr++ % servers.length]!;
  }

  async #run(request: Request, options: RunOptions): Promise<ClientResponse> {
    if (this.#closing !== undefined) throw closedError();
    if (options.signal?.aborted) {
      throw new RaftLedgerError('ERR_ABORTED', `${request.op} was aborted`, { cause: options.signal.reason, retriable: false });
    }
    const op = new Operation(options.signal);
    this.#ops.add(op);
    const { pinned, once = false } = options;
    const backoff = new Backoff();
    const group = request.group;
    let target = pinned ?? (request.op === 'status' ? this.#current : (this.#leaders.get(group) ?? this.#current));
    /** An append attempt may have committed without our knowing. */
    let unknown = false;
    /**
     * After an append attempt of unknown outcome, the request is resent with the retry mark
     * (op 12) when it is idempotent: a producer's first batch that the server's table may
     * have forgotten is then refused instead of appended a second time.
     */
    const outcomeUnknown = (r: Request): Request => {
      if (r.op !== 'append') return r;
      unknown = true;
      return r.producer === undefined || r.producer.retry === true ? r : { ...r, producer: { ...r.producer, retry: true } };
    };
    let last: Error | undefined;
    let redirects = 0;
    let moves = 0;
    try {
      for (;;) {
        let response: ClientResponse;
        let connection: Connection | undefined;
        try {
          connection = this.#pool.get(target);
          const exchange = connection.send(request);
          try {
            response = await op.wait(exchange.promise, (e) => exchange.cancel(e));
          } catch (error) {
            if (error instanceof Stopped && exchange.sent && request.op === 'append') unknown = true;
            throw error;
          }
        } catch (error) {
          if (!(error instanceof AttemptFailure)) throw error; // Stopped, or misuse seen by the encoder
          if (isSecurityFailure(error)) throw error; // ERR_TLS, ERR_AUTH: another server will not think otherwise
          last = error;
          if (error.sent) request = outcomeUnknown(request);
          if (once) throw error;
          this.#unreachable.set(group, target);
          if (pinned === undefined) {
            if (this.#leaders.get(group) === target) this.#leaders.delete(group);
            target = this.#after(target);
          }
          if ((await this.#sleepLeaderless(op, backoff, group)) && pinned === undefined) target = this.#leaders.get(group) ?? target;
          continue;
        }

        if (response.kind !== 'error') {
          if (pinned === undefined) this.#current = target;
          if (request.op === 'append') {
            this.#leaders.set(group, target);
            if (this.#unreachable.get(group) === target) this.#unreachable.delete(group);
            this.#wakeSleepers(group);
          }
          return response;
        }

        const error = raftLedgerErrorFromWire(response.error);
        last = error;
        // The server's "no verdict in time": proposed, and it may still commit.
        if (error.code === 'ERR_TIMEOUT') request = outcomeUnknown(request);
        // A gap: an earlier append of this producer is still on its way (another connection).
        const gap = error.code === 'ERR_SEQUENCE_GAP' && request.op === 'append' && request.producer !== undefined;
        if (once || (!error.retriable && error.code !== 'ERR_NOT_LEADER' && !gap)) throw error;
        if (pinned === undefined && error.code === 'ERR_MOVED') {
          // The server serves this group on another port (a worker's): go there now, and
          // remember it as the group's address; a server that keeps moving us gets a backoff.
          const hinted = tryAddress(error.leaderHint?.address);
          if (hinted !== undefined && hinted !== target) {
            this.#leaders.set(group, hinted);
            target = hinted;
            if (moves++ < 3) continue;
          }
        } else if (pinned === undefined && error.code === 'ERR_NOT_LEADER') {
          const hinted = tryAddress(error.leaderHint?.address);
          if (this.#leaders.get(group) === target) this.#leaders.delete(group);
          if (hinted !== undefined && hinted !== target) {
            const news = this.#leaders.get(group) !== hinted && this.#unreachable.get(group) !== hinted;
            this.#leaders.set(group, hinted);
            target = hinted;
            // A leader not heard of before (a new one, after an election): whoever sleeps goes now.
            if (news) this.#wakeSleepers(group);
            // The first redirect is immediate, and so are up to two more to a leader not heard of
            // before (bounded: two stale followers naming each other must not make a busy loop).
            const n = redirects++;
            if (n === 0 || (news && n < 3)) continue;
          } else {
            target = this.#after(target);
          }
        }
        if (error.code === 'ERR_NOT_LEADER' || gap) {
          // Looking for the leader (or for an earlier append of ours to land): a short cap,
          // and any news of the leader ends the sleep (see #wakers).
          if ((await this.#sleepLeaderless(op, backoff, group)) && pinned === undefined) target = this.#leaders.get(group) ?? target;
          continue;
        }
        await op.sleep(backoff.next());
      }
    } catch (error) {
      if (!(error instanceof Stopped)) throw error;
      throw this.#stopError(op, request, unknown, last);
    } finally {
      op.dispose();
      this.#ops.delete(op);
    }
  }

  #stopError(op: Operation, request: Request, unknown: boolean, last: Error | undefined): RaftLedgerError {
    const what = request.op === 'append' ? (request.payloads.length === 1 ? 'append' : `append of ${request.payloads.length} payloads`) : request.op;
    const outcome = unknown ? '; the outcome is unknown: an attempt may have been committed' : '';
    switch (op.stopped) {
      case 'abort':
        return new RaftLedgerError('ERR_ABORTED', `${what} was aborted${outcome}`, {
          cause: op.signal?.reason,
          retriable: false,
        });
      case 'closed':
        return new RaftLedgerError('ERR_CLOSED', `the client was closed during ${what}${outcome}`, {
          retriable: false,
          ...(last !== undefined ? { cause: last } : {}),
        });
      default:
        return new RaftLedgerError('ERR_TIMEOUT', `${what} did not complete within ${this.#options.deadlineMs} ms${outcome}`, {
          retriable: true,
          ...(last !== undefined ? { cause: last } : {}),
        });
    }
  }
}

/** Connect to a raftledger cluster: resolves once one of `servers` accepted a connection. */
export async function connect(options: ConnectOptions): Promise<Client> {
  const client = new Client(options);
  try {
    await establish(client);
  } catch (error) {
    await client.close();
    throw error;
  }
  return client;
}
