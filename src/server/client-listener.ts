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
import { RaftLedgerError, type LeaderHint } from '../errors.js';
import type { ClientRequest } from '../transport/client-codec.js';
import { AcceptGuard, type AcceptBackoff } from '../transport/accept-guard.js';
import { createTlsGate, readTokenFile, remoteOf, TlsMaterial, type ReloadMaterial, type TlsFiles, type TlsGate } from '../transport/tls.js';
import { RefusalLog } from '../transport/refusal-log.js';
import { awaitAuthFrame } from './client-auth.js';
import { LoopDelayMonitor, type LoopDelaySnapshot } from './loop-delay.js';
import { ClientConnection, encodeNotice, NOTICE_LINGER_MS, type ConnectionContext } from './client-connection.js';
import { frameCapFor, resolveClientLimits, type ClientLimits, type ClientPortStats } from './client-limits.js';
import type { LedgerEntry } from '../entry.js';
import type { Ledger } from '../replica/ledger.js';
import type { Consistency } from '../replica/read-gate.js';
import type { AppendAck } from '../replica/pending.js';
import type { ProducerOptions } from '../replica/idempotence.js';
import { applyMemberChange, type MemberChange, type MembersView } from '../replica/membership.js';
import { ledgerReadRange, newReadStats, type RangeReader } from './read-requests.js';
import { CLIENT_PROTOCOL_VERSION } from '../transport/member-codec.js';
import { TRANSPORT_VERSION } from '../transport/handshake.js';

/** Where client requests go; a Ledger map and a LedgerHost both implement it. */
export interface LedgerRouter {
  hasGroup(group: number): boolean;
  /** `producer`: an exactly-once append (Ledger.append's option). */
  append(group: number, payloads: Uint8Array[], producer?: ProducerOptions): Promise<AppendAck[]>;
  read(group: number, index: number): Promise<LedgerEntry | null> | LedgerEntry | null;
  status(group: number): Promise<object> | object;
  /** The last committed entry's `{ index, pos }` at a consistency (replica/read-gate.ts). */
  commitPosition(group: number, options: { consistency: Consistency; maxLagMs?: number }): Promise<{ index: number; pos: number }>;
  /** The configuration in force (Ledger.members), and a membership change that resolves once committed. */
  members?(group: number): Promise<MembersView> | MembersView;
  changeMembers?(group: number, change: MemberChange): Promise<void>;
  /** Committed entries with long poll and flow control (read-requests.ts); absent: this port answers readRange with ERR_MOVED via movedTo, or refuses it. */
  readRange?: RangeReader;
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
    append: (group, payloads, producer) => get(group).append(payloads, producer === undefined ? {} : { producer }),
    read: (group, index) => get(group).read(index),
    status: (group) => get(group).status(),
    commitPosition: (group, options) => get(group).commitPosition(options),
    members: (group) => get(group).members(),
    changeMembers: (group, change) => applyMemberChange(get(group), change),
    readRange: (group, read, flow, stats) => ledgerReadRange(get(group), read, flow, stats),
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
  /** TLS on this port (transport/tls.ts): cert/key/ca as paths or PEM bytes. Absent: plaintext. */
  tls?: TlsFiles;
  /**
   * Who may use the port: 'none' (default) anyone; 'tls' clients presenting a certificate
   * signed by tls.ca (needs tls); 'token' clients whose first frame carries the token of
   * tokenFile (client-auth.ts).
   */
  clientAuth?: ClientAuth;
  /** File holding the bearer token (surrounding whitespace ignored), for clientAuth 'token'. */
  tokenFile?: string;
  /** A TLS handshake or the auth frame must complete within this (default 10000 ms). */
  authTimeoutMs?: number;
  /** Who this port says it is in the client hello (op 32; plain data); absent: empty ids (clients then do not check the uid). */
  identity?: ServerIdentity;
}

/** A server's identity in the client hello: its node id, cluster name (--cluster-id) and cluster uid (replica/cluster-id.ts). */
export interface ServerIdentity {
  serverId: string;
  clusterId: string;
  clusterUid: string;
}

export type ClientAuth = 'none' | 'tls' | 'token';

export type { ClientLimits, ClientPortStats } from './client-limits.js';

/** Refused sockets waiting for their notice to go out; past this many, more are destroyed at once. */
const MAX_REFUSING_SOCKETS = 64;

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
  /** Refusals at a cap (maxConnections, maxPendingHandshakes): logged at most once a second each, with a count. */
  readonly #capLog: RefusalLog;
  readonly #floodLog: RefusalLog;
  #closing: Promise<void> | undefined;
  readonly #material: TlsMaterial | null;
  readonly #gate: TlsGate | null;
  /** Sockets past the TLS gate (or without TLS) waiting for their auth frame. */
  readonly #awaitingAuth = new Set<Socket>();
  readonly #clientAuth: ClientAuth;
  readonly #tokenFile: string | undefined;
  readonly #authTimeoutMs: number;
  #token: Buffer = Buffer.alloc(0);
  /** Connections refused for security reasons, by reason: plaintext, tls, token. */
  readonly #rejectedBy = new Map<string, number>();

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
    this.#capLog = new RefusalLog(this.#log);
    this.#floodLog = new RefusalLog(this.#log);
    this.#context = {
      router,
      loopDelay: this.#loopDelay,
      maxInFlightPerConnection: maxInFlight,
      limits: this.#limits,
      maxFrameBytes: frameCapFor(this.#limits),
      budget: { total: 0, peak: 0 },
      counters: { closedIdle: 0, closedFrameTimeout: 0, closedOverBuffer: 0 },
      reads: newReadStats(),
      hello: {
        protocolVersion: CLIENT_PROTOCOL_VERSION,
        transportVersion: TRANSPORT_VERSION,
        serverId: options.identity?.serverId ?? '',
        clusterId: options.identity?.clusterId ?? '',
        clusterUid: options.identity?.clusterUid ?? '',
      },
      log: this.#log,
    };
    this.#refusalNotice = encodeNotice(
      'ERR_OVERLOADED',
      `connection refused: the client port is at its limit of ${this.#limits.maxConnections} connections (maxConnections)`,
      true,
    );
    this.#clientAuth = options.clientAuth ?? 'none';
    if (!['none', 'tls', 'token'].includes(this.#clientAuth)) throw new RangeError(`clientAuth must be 'none', 'tls' or 'token', got ${String(this.#clientAuth)}`);
    if (this.#clientAuth === 'tls' && options.tls === undefined) throw new TypeError("clientAuth 'tls' needs tls");
    this.#tokenFile = options.tokenFile;
    if (this.#clientAuth === 'token') {
      if (this.#tokenFile === undefined) throw new TypeError("clientAuth 'token' needs tokenFile");
      this.#token = readTokenFile(this.#tokenFile);
    }
    this.#authTimeoutMs = options.authTimeoutMs ?? 10_000;
    this.#material = options.tls === undefined ? null : new TlsMaterial(options.tls);
    this.#gate =
      this.#material === null
        ? null
        : createTlsGate({
            material: this.#material,
            requestCert: this.#clientAuth === 'tls',
            handshakeTimeoutMs: this.#authTimeoutMs,
            onSecure: () => {},
            onPlaintext: (socket, remote) => this.#reject(socket, remote, 'plaintext', 'ERR_TLS', 'plaintext connection to the TLS client port'),
            onTlsError: (remote, reason) => this.#countRejection(remote, 'tls', reason),
            onUnauthorized: (socket, remote, reason) => this.#reject(socket, remote, 'tls', 'ERR_TLS', reason),
            admit: (inGate) => inGate + this.#awaitingAuth.size < this.#limits.maxPendingHandshakes,
            onOverCap: (remote) => this.#overHandshakeCap(remote),
          });
    const gate = this.#gate;
    this.#guard = new AcceptGuard({
      host: options.host,
      port: options.port,
      what: 'client port',
      log: this.#log,
      onConnection: (socket) => this.#onConnection(socket),
      backoff: options.acceptBackoff,
      createServer: gate !== null ? (onConnection) => gate.attach(onConnection) : options.createServer,
    });
  }

  /**
   * Read the TLS files and the token file again (SIGHUP): loadReload() then prepareReload().
   * On a failure (ERR_TLS, ERR_BAD_CONFIG) nothing is swapped and the old material stays.
   * New connections use the new material; open ones keep theirs.
   */
  reload(): void {
    this.prepareReload(this.loadReload())();
  }

  /** This port's files read (TLS PEM checked, token non-empty); nothing is swapped. */
  loadReload(): ReloadMaterial {
    return {
      ...(this.#material !== null ? { tls: this.#material.load() } : {}),
      ...(this.#clientAuth === 'token' ? { token: readTokenFile(this.#tokenFile!) } : {}),
    };
  }

  /**
   * Phase one of a reload from material read elsewhere (the server reads the files once for
   * every port and thread): checks it and returns the swap, which cannot fail. Throws
   * ERR_TLS or ERR_BAD_CONFIG, with nothing changed, when it does not load or the token is
   * empty. A part absent from `material`, or one this port does not use, is left as it is.
   */
  prepareReload(material: ReloadMaterial): () => void {
    const installTls = material.tls !== undefined ? this.#material?.prepare(material.tls) : undefined;
    let token = this.#token;
    if (this.#clientAuth === 'token' && material.token !== undefined) {
      if (material.token.length === 0) throw new RaftLedgerError('ERR_BAD_CONFIG', 'reload: an empty token');
      token = Buffer.from(material.token);
    }
    return () => {
      if (installTls !== undefined) {
        installTls();
        this.#gate!.setSecureContext(this.#material!.pem);
      }
      this.#token = token;
    };
  }

  /** Resolves with the bound port. */
  listen(): Promise<number> {
    return this.#guard.listen();
  }

  /** The limits in force (defaults filled in). */
  get limits(): ClientLimits {
    return { ...this.#limits };
  }

  /** This thread's event-loop delay (the one monitor of the thread: status replies and /metrics both read it). */
  loopDelay(): LoopDelaySnapshot {
    return this.#loopDelay.snapshot();
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
      rejectedByReason: Object.fromEntries(this.#rejectedBy),
      pendingHandshakes: (this.#gate?.pending ?? 0) + this.#awaitingAuth.size,
      ...this.#context.reads,
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
    if (this.#clientAuth === 'token') {
      // Past the TLS gate a socket still counts against the cap until its auth frame is judged.
      if ((this.#gate?.pending ?? 0) + this.#awaitingAuth.size >= this.#limits.maxPendingHandshakes) {
        socket.on('error', () => {});
        socket.destroy();
        this.#overHandshakeCap(remoteOf(socket));
        return;
      }
      this.#awaitingAuth.add(socket);
      const judged = (): boolean => this.#awaitingAuth.delete(socket);
      socket.once('close', judged);
      awaitAuthFrame(socket, {
        expected: () => this.#token,
        timeoutMs: this.#authTimeoutMs,
        onAccepted: (s) => {
          judged();
          if (this.#closing !== undefined) s.destroy();
          else this.#serve(s);
        },
        onRefused: (s, reason) => {
          judged();
          this.#reject(s, remoteOf(s), 'token', 'ERR_AUTH', reason);
        },
      });
      return;
    }
    this.#serve(socket);
  }

  #serve(socket: Socket): void {
    this.#accepted++;
    const connection = new ClientConnection(socket, this.#context);
    this.#connections.add(connection);
    socket.on('close', () => this.#connections.delete(connection));
    socket.resume();
  }

  /** A connection past maxPendingHandshakes: already destroyed; counted, and logged at most once a second. */
  #overHandshakeCap(remote: string): void {
    this.#rejectedBy.set('pending_handshakes', (this.#rejectedBy.get('pending_handshakes') ?? 0) + 1);
    this.#floodLog.refused(`refusing client ${remote}`, `${this.#limits.maxPendingHandshakes} connections already in their TLS handshake or awaiting their auth frame (maxPendingHandshakes; reason=pending_handshakes)`);
  }

  #countRejection(remote: string, reason: string, text: string): void {
    this.#rejectedBy.set(reason, (this.#rejectedBy.get(reason) ?? 0) + 1);
    this.#log(`refusing client ${remote}: ${text} (reason=${reason})`);
  }

  /** A security refusal: one log line, a connection notice with `code`, then close; no request is read. */
  #reject(socket: Socket, remote: string, reason: string, code: 'ERR_TLS' | 'ERR_AUTH', text: string): void {
    this.#countRejection(remote, reason, text);
    socket.on('error', () => {});
    const linger = setTimeout(() => socket.destroy(), NOTICE_LINGER_MS);
    linger.unref();
    socket.on('close', () => clearTimeout(linger));
    socket.resume();
    socket.end(encodeNotice(code, `connection refused: ${text}`, false));
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
    this.#capLog.refused(`refusing client ${socket.remoteAddress}:${socket.remotePort}`, `${this.#connections.size} connections open (maxConnections ${this.#limits.maxConnections})`);
  }
}
