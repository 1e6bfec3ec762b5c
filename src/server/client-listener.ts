/**
 * The client port of a replica: decodes client requests (src/transport/client-codec.ts),
 * hands them to the ledger that owns the request's group, and writes responses.
 * Responses finished in the same event-loop turn go out in one write per connection.
 * A malformed frame closes that connection with a logged reason; nothing else is harmed.
 *
 * Requests go to a LedgerRouter: a map of Ledgers on this thread (ledgerFor) or a
 * LedgerHost whose groups run on worker threads. Status answers carry `host`: the thread
 * serving clients and its event-loop delay (p99/max of the last 1 s window).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { RaftLedgerError, toWireError, type LeaderHint } from '../errors.js';
import { FrameReader } from '../transport/frame.js';
import { decodeClientRequestFrame, encodeClientResponse, type ClientRequest, type ClientResponse } from '../transport/client-codec.js';
import { threadId } from 'node:worker_threads';
import { LoopDelayMonitor } from './loop-delay.js';
import type { LedgerEntry } from '../entry.js';
import type { Ledger } from '../replica/ledger.js';
import type { AppendAck } from '../replica/pending.js';

/** Where client requests go; a Ledger map and a LedgerHost both implement it. */
export interface LedgerRouter {
  hasGroup(group: number): boolean;
  append(group: number, payloads: Uint8Array[]): Promise<AppendAck[]>;
  read(group: number, index: number): Promise<LedgerEntry | null> | LedgerEntry | null;
  status(group: number): Promise<object> | object;
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
  };
}

export interface ClientListenerOptions {
  host: string;
  port: number;
  /** The ledger serving `group`, or undefined for an unknown group (when no router is given). */
  ledgerFor?: (group: number) => Ledger | undefined;
  /** Where requests go (takes precedence over ledgerFor). */
  router?: LedgerRouter;
  /** Max requests in flight per connection before reading pauses (default 8192). */
  maxInFlightPerConnection?: number;
  log?: (line: string) => void;
}

const HIGH_WATER_BYTES = 8 * 1024 * 1024;

interface ConnectionContext {
  router: LedgerRouter;
  loopDelay: LoopDelayMonitor;
  maxInFlightPerConnection?: number;
  log?: (line: string) => void;
}

class ClientConnection {
  readonly #socket: Socket;
  readonly #reader = new FrameReader();
  readonly #options: ConnectionContext;
  readonly #maxInFlight: number;
  #inFlight = 0;
  #out: Buffer[] = [];
  #flushScheduled = false;
  #closed = false;
  #paused = false;

  constructor(socket: Socket, options: ConnectionContext) {
    this.#socket = socket;
    this.#options = options;
    this.#maxInFlight = options.maxInFlightPerConnection ?? 8192;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#maybeResume());
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  #onData(chunk: Buffer): void {
    try {
      for (const frame of this.#reader.frames(chunk)) {
        const request = decodeClientRequestFrame(frame);
        this.#handle(request);
        if (this.#closed) return;
      }
    } catch (error) {
      this.#options.log?.(`client ${this.#socket.remoteAddress}:${this.#socket.remotePort}: closing: ${(error as Error).message}`);
      this.close();
    }
  }

  #handle(request: ClientRequest): void {
    const router = this.#options.router;
    const moved = router.movedTo?.(request.group, request.op);
    if (moved !== undefined) {
      this.#respondError(
        request.id,
        new RaftLedgerError('ERR_MOVED', `group ${request.group} is served at ${moved.address ?? '?'} (${request.op} requests go there)`, { leaderHint: moved }),
      );
      return;
    }
    if (!router.hasGroup(request.group)) {
      this.#respondError(request.id, new RaftLedgerError('ERR_BAD_CONFIG', `this server does not host group ${request.group}`));
      return;
    }
    this.#inFlight++;
    if (this.#inFlight >= this.#maxInFlight) this.#pause();
    let pending: Promise<ClientResponse>;
    try {
      switch (request.op) {
        case 'append':
          pending = router.append(request.group, request.payloads).then((ok) => ({ id: request.id, kind: 'append', ok }));
          break;
        case 'read':
          pending = Promise.resolve(router.read(request.group, request.index)).then((entry) => ({
            id: request.id,
            kind: 'read',
            entry,
          }));
          break;
        case 'status':
          pending = Promise.resolve(router.status(request.group)).then((status) => ({
            id: request.id,
            kind: 'status',
            status: { ...(status as Record<string, unknown>), host: { threadId, eventLoopDelay: this.#options.loopDelay.snapshot() } },
          }));
          break;
      }
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (response) => this.#respond(response),
      (error: unknown) => this.#respondError(request.id, error),
    );
  }

  #respondError(id: number, error: unknown): void {
    this.#respond({ id, kind: 'error', error: toWireError(error) });
  }

  #respond(response: ClientResponse): void {
    this.#inFlight--;
    this.#maybeResume();
    if (this.#closed) return;
    let bytes: Buffer;
    try {
      bytes = encodeClientResponse(response);
    } catch (error) {
      bytes = encodeClientResponse({ id: response.id, kind: 'error', error: { code: 'ERR_INTERNAL', message: (error as Error).message, retriable: false } });
    }
    this.#out.push(bytes);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#closed || this.#out.length === 0) return;
    const out = this.#out.length === 1 ? this.#out[0]! : Buffer.concat(this.#out);
    this.#out = [];
    this.#socket.write(out);
    if (this.#socket.writableLength > HIGH_WATER_BYTES) this.#pause();
  }

  #pause(): void {
    if (!this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  #maybeResume(): void {
    if (this.#paused && this.#inFlight < this.#maxInFlight / 2 && this.#socket.writableLength < HIGH_WATER_BYTES / 2) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
  }
}

export class ClientListener {
  readonly #server: Server;
  readonly #connections = new Set<ClientConnection>();
  readonly #options: ClientListenerOptions;
  readonly #loopDelay = new LoopDelayMonitor();
  #closing: Promise<void> | undefined;

  constructor(options: ClientListenerOptions) {
    this.#options = options;
    let router = options.router;
    if (router === undefined) {
      if (typeof options.ledgerFor !== 'function') throw new TypeError('ClientListener: give a router or ledgerFor');
      router = ledgerMapRouter(options.ledgerFor);
    }
    const context: ConnectionContext = { router, loopDelay: this.#loopDelay };
    if (options.maxInFlightPerConnection !== undefined) context.maxInFlightPerConnection = options.maxInFlightPerConnection;
    if (options.log !== undefined) context.log = options.log;
    this.#server = createServer((socket) => {
      const connection = new ClientConnection(socket, context);
      this.#connections.add(connection);
      socket.on('close', () => this.#connections.delete(connection));
    });
  }

  /** Resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port, this.#options.host, () => {
        this.#server.off('error', reject);
        const address = this.#server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : this.#options.port);
      });
    });
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#loopDelay.close();
    this.#closing = new Promise<void>((resolve) => {
      for (const c of this.#connections) c.close();
      this.#server.close(() => resolve());
    });
    return this.#closing;
  }
}
