/**
 * The client port of a replica: decodes client requests (src/transport/client-codec.ts),
 * hands them to the ledger that owns the request's group, and writes responses.
 * Responses finished in the same event-loop turn go out in one write per connection.
 * A malformed frame closes that connection with a logged reason; nothing else is harmed.
 *
 * Limits (client-limits.ts, defaults there and in the README): at most maxConnections open
 * connections (one more gets a connection notice, ERR_OVERLOADED retriable, and is closed);
 * idle and frame timeouts and a cap on buffered unfinished frames per connection and in
 * total (client-connection.ts). An accept error (EMFILE, ENFILE) is logged and pauses
 * accepting for a back-off (accept-guard.ts); the listener never stops for good.
 *
 * Requests go to a LedgerRouter: a map of Ledgers on this thread (ledgerFor) or a
 * LedgerHost whose groups run on worker threads. Status answers carry `host`: the thread
 * serving clients and its event-loop delay (p99/max of the last 1 s window).
 */
import type { Server, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { RaftLedgerError, type LeaderHint } from '../errors.js';
import type { ClientRequest } from '../transport/client-codec.js';
import { AcceptGuard, type AcceptBackoff } from '../transport/accept-guard.js';
import { LoopDelayMonitor } from './loop-delay.js';
import { ClientConnection, encodeNotice, NOTICE_LINGER_MS, type ConnectionContext } from './client-connection.js';
import { frameCapFor, resolveClientLimits, type ClientLimits, type ClientPortStats } from './client-limits.js';
import type { LedgerEntry } from '../entry.js';
import type { Ledger } from '../replica/ledger.js';
import type { Consistency } from '../replica/read-gate.js';
import type { AppendAck } from '../replica/pending.js';

/** Where client requests go; a Ledger map and a LedgerHost both implement it. */
export interface LedgerRouter {
  hasGroup(group: number): boolean;
  append(group: number, payloads: Uint8Array[]): Promise<AppendAck[]>;
  read(group: number, index: number): Promise<LedgerEntry | null> | LedgerEntry | null;
  status(group: number): Promise<object> | object;
  /** The last committed entry's `{ index, pos }` at a consistency (replica/read-gate.ts). */
  commitPosition(group: number, options: { consistency: Consistency; maxLagMs?: number }): Promise<{ index: number; pos: number }>;
  /**
   * Where `op` on `group` is served when it is not here (a LedgerHost's per-worker client
   * ports): the request is answered with ERR_MOVED and this hint, and the client goes there.
   */
  movedTo?(group: number, op: ClientRequest['op']): LeaderHint | undefined;
}

/** A router over Ledgers on the calling thread. */
export function ledgerMapRouter(ledgerFor: (group: number) => Ledger | undefined): LedgerRouter {
  const get = (group: number): Ledger => {
    const ledger = ledgerFor(group);
    if (ledger === undefined) throw new RaftLedgerError('ERR_BAD_CONFIG', `this server does not host group ${group}`);
    return ledger;
  };
  return {
    hasGroup: (group) => ledgerFor(group) !== undefined,
    append: (group, payloads) => get(group).append(payloads),
    read: (group, index) => get(group).read(index),
    status: (group) => get(group).status(),
    commitPosition: (group, options) => get(group).commitPosition(options),
  };
}

export interface ClientListenerOptions extends Partial<ClientLimits> {
  host: string;
  port: number;
  /** The ledger serving `group`, or undefined for an unknown group (when no router is given). */
  ledgerFor?: (group: number) => Ledger | undefined;
  /** Where requests go (takes precedence over ledgerFor). */
  router?: LedgerRouter;
  /** Max requests in flight per connection before reading pauses (default 8192). */
  maxInFlightPerConnection?: number;
  /** Pause after an accept error: default 100 ms doubling to 5 s (accept-guard.ts). */
  acceptBackoff?: AcceptBackoff;
  /** Test seam: builds the listening net.Server. */
  createServer?: (onConnection: (socket: Socket) => void) => Server;
  log?: (line: string) => void;
}

export type { ClientLimits, ClientPortStats } from './client-limits.js';

/** Refused sockets waiting for their notice to go out; past this many, more are destroyed at once. */
const MAX_REFUSING_SOCKETS = 64;
/** Refusals at the cap are logged at most once per this interval (with a count). */
const REFUSAL_LOG_INTERVAL_MS = 1000;

export class ClientListener {
  readonly #guard: AcceptGuard;
  readonly #connections = new Set<ClientConnection>();
  readonly #refusing = new Set<Socket>();
  readonly #loopDelay = new LoopDelayMonitor();
  readonly #limits: ClientLimits;
  readonly #context: ConnectionContext;
  readonly #log: (line: string) => void;
  readonly #refusalNotice: Buffer;
  #accepted = 0;
  #refused = 0;
  #refusedSinceLog = 0;
  #refusalLoggedMs = Number.NEGATIVE_INFINITY;
  #closing: Promise<void> | undefined;

  constructor(options: ClientListenerOptions) {
    let router = options.router;
    if (router === undefined) {
      if (typeof options.ledgerFor !== 'function') throw new TypeError('ClientListener: give a router or ledgerFor');
      router = ledgerMapRouter(options.ledgerFor);
    }
    const maxInFlight = options.maxInFlightPerConnection ?? 8192;
    if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) throw new RangeError(`maxInFlightPerConnection must be an integer >= 1, got ${maxInFlight}`);
    this.#limits = resolveClientLimits(options);
    const log = options.log;
    this.#log = (line) => {
      try {
        log?.(line);
      } catch {
        // a throwing logger costs only its line
      }
    };
    this.#context = {
      router,
      loopDelay: this.#loopDelay,
      maxInFlightPerConnection: maxInFlight,
      limits: this.#limits,
      maxFrameBytes: frameCapFor(this.#limits),
      budget: { total: 0, peak: 0 },
      counters: { closedIdle: 0, closedFrameTimeout: 0, closedOverBuffer: 0 },
      log: this.#log,
    };
    this.#refusalNotice = encodeNotice(
      'ERR_OVERLOADED',
      `connection refused: the client port is at its limit of ${this.#limits.maxConnections} connections (maxConnections)`,
      true,
    );
    this.#guard = new AcceptGuard({
      host: options.host,
      port: options.port,
      what: 'client port',
      log: this.#log,
      onConnection: (socket) => this.#onConnection(socket),
      backoff: options.acceptBackoff,
      createServer: options.createServer,
    });
  }

  /** Resolves with the bound port. */
  listen(): Promise<number> {
    return this.#guard.listen();
  }

  /** The limits in force (defaults filled in). */
  get limits(): ClientLimits {
    return { ...this.#limits };
  }

  stats(): ClientPortStats {
    const { budget, counters } = this.#context;
    return {
      connections: this.#connections.size,
      accepted: this.#accepted,
      refused: this.#refused,
      ...counters,
      pendingFrameBytes: budget.total,
      peakPendingFrameBytes: budget.peak,
      acceptErrors: this.#guard.acceptErrors,
      accepting: this.#guard.accepting,
    };
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#loopDelay.close();
    for (const c of this.#connections) c.close();
    for (const s of this.#refusing) s.destroy();
    this.#closing = this.#guard.close();
    return this.#closing;
  }

  #onConnection(socket: Socket): void {
    if (this.#closing !== undefined) {
      socket.destroy();
      return;
    }
    if (this.#connections.size >= this.#limits.maxConnections) {
      this.#refuse(socket);
      return;
    }
    this.#accepted++;
    const connection = new ClientConnection(socket, this.#context);
    this.#connections.add(connection);
    socket.on('close', () => this.#connections.delete(connection));
  }

  /** At the cap: send the notice and close; never read a request from this socket. */
  #refuse(socket: Socket): void {
    this.#refused++;
    socket.on('error', () => {});
    if (this.#refusing.size >= MAX_REFUSING_SOCKETS) {
      socket.destroy();
    } else {
      this.#refusing.add(socket);
      const linger = setTimeout(() => socket.destroy(), NOTICE_LINGER_MS);
      linger.unref();
      socket.on('close', () => {
        clearTimeout(linger);
        this.#refusing.delete(socket);
      });
      socket.resume(); // discard what the client sends meanwhile
      socket.end(this.#refusalNotice);
    }
    const t = performance.now();
    if (t - this.#refusalLoggedMs < REFUSAL_LOG_INTERVAL_MS) {
      this.#refusedSinceLog++;
      return;
    }
    const more = this.#refusedSinceLog > 0 ? ` (and ${this.#refusedSinceLog} more since the last such line)` : '';
    this.#refusalLoggedMs = t;
    this.#refusedSinceLog = 0;
    this.#log(
      `refusing client ${socket.remoteAddress}:${socket.remotePort}${more}: ${this.#connections.size} connections open (maxConnections ${this.#limits.maxConnections})`,
    );
  }
}
