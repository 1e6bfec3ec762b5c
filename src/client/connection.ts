/**
 * One TCP connection to one server's client port, pipelined: every request
 * gets a u32 id (wrapping, never one still outstanding), responses are matched
 * by id in any order, and at most `maxInFlight` requests are outstanding; more
 * wait in a FIFO for a slot. That bound is also the write backpressure: frames
 * sit in the outbox while the socket is not writable ('drain').
 *
 * Requests dispatched in the same event-loop turn are written with a single
 * socket.write (one setImmediate per turn; frames concatenated).
 *
 * A connection that fails (socket error or close, connect timeout, malformed
 * response) is destroyed and every request on it fails with an AttemptFailure
 * whose `sent` flag says whether its bytes were handed to the socket. The
 * connection never retries: that is the client's job. A server's connection
 * notice (client-codec.ts: why it closes, e.g. at its connection cap or idle)
 * fails it the same way at once, with the server's reason in the message; the
 * pool then opens a new connection for the next request.
 */
import net from 'node:net';
import tls from 'node:tls';

import { parseHostPort } from '../transport/address.js';
import {
  CONNECTION_NOTICE_ID,
  decodeClientResponseFrame,
  encodeClientRequest,
  type ClientRequest,
  type ClientResponse,
  type WireProducer,
  type WireMemberChange,
  type WireConsistency,
  type WireHello,
} from '../transport/client-codec.js';
import { FrameReader, protocolError, type Frame } from '../transport/frame.js';
import type { RangeRequest } from '../transport/client-reads-codec.js';
import { isTlsError } from '../transport/tls.js';
import type { ResolvedTls } from './options.js';
import { AttemptFailure } from './errors.js';
import { DeadlineQueue } from './deadlines.js';

/** A request before it has an id. */
export type Request =
  | { group: number; op: 'append'; payloads: Uint8Array[]; producer?: WireProducer }
  | { group: number; op: 'producerId' }
  | { group: number; op: 'read'; index: number }
  | { group: number; op: 'status' }
  | { group: number; op: 'commitPosition'; consistency: WireConsistency; maxLagMs: number }
  | { group: number; op: 'members' }
  | { group: number; op: 'changeMembers'; change: WireMemberChange }
  | { group: number; op: 'hello' }
  | Omit<RangeRequest, 'id'>;

export interface ConnectionOptions {
  address: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  maxInFlight: number;
  /** Called once, when the connection is destroyed. */
  onClose?: (connection: Connection) => void;
  /** First request id (tests exercise wrapping). Default 1. */
  firstId?: number;
  /** TLS to the server: ready once the handshake completed (a failed one is ERR_TLS). */
  tls?: ResolvedTls;
  /** Written before any request (token auth, server/client-auth.ts). */
  authFrame?: Buffer;
  /**
   * The client hello (op 32, hello.ts): sent first once connected; no request is written
   * before its answer passes `check` (else the connection fails with check's failure).
   * `closesBefore`: connections to this address the server closed on the hello before,
   * without an answer; with one already, another is 'old-server' (not retried).
   */
  hello?: { check(info: WireHello): AttemptFailure | undefined; closesBefore: number };
}

const QUEUED = 0;
const PENDING = 1;
const DONE = 2;

/** One request on one connection: its promise settles once. */
export class Exchange {
  readonly request: Request;
  readonly promise: Promise<ClientResponse>;
  id = -1;
  /** The frame was handed to the socket: the server may have acted on it. */
  sent = false;
  state = QUEUED;
  frame: Buffer | undefined;
  resolve!: (response: ClientResponse) => void;
  reject!: (error: Error) => void;
  readonly #connection: Connection;

  constructor(request: Request, connection: Connection) {
    this.request = request;
    this.#connection = connection;
    this.promise = new Promise<ClientResponse>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Give up on this request (its slot is freed; a late response is ignored). */
  cancel(error: Error): void {
    this.#connection.cancel(this, error);
  }
}

function matches(request: Request, response: ClientResponse): boolean {
  switch (response.kind) {
    case 'error':
      return true;
    case 'append':
      return request.op === 'append' && response.ok.length === request.payloads.length;
    case 'read':
      return request.op === 'read';
    case 'status':
      return request.op === 'status';
    case 'producerId':
      return request.op === 'producerId';
    case 'commitPosition':
      return request.op === 'commitPosition';
    case 'members':
      return request.op === 'members' || request.op === 'changeMembers';
    case 'hello':
      return request.op === 'hello';
    case 'entries':
      return request.op === 'readRange';
  }
}

export class Connection {
  readonly address: string;
  readonly #socket: net.Socket;
  readonly #reader = new FrameReader();
  readonly #requestTimeoutMs: number;
  readonly #maxInFlight: number;
  readonly #onClose: ((connection: Connection) => void) | undefined;
  readonly #pending = new Map<number, Exchange>();
  /** The request timeout of every pending exchange (one timer for all of them). */
  readonly #timeouts: DeadlineQueue<Exchange>;
  #waiting: Exchange[] = [];
  #waitingHead = 0;
  #outbox: Exchange[] = [];
  #immediate: NodeJS.Immediate | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  #connected = false;
  #blocked = false;
  #error: AttemptFailure | undefined;
  #nextId: number;
  #writes = 0;
  readonly #ready: Promise<void>;
  #readyResolve!: () => void;
  #readyReject!: (error: Error) => void;
  readonly #closed: Promise<void>;
  readonly #hello: ConnectionOptions['hello'];
  /** The hello's request id while its answer is awaited. */
  #helloId: number | undefined;
  /** The server closed this connection on the hello, without an answer. */
  closedOnHello = false;

  constructor(options: ConnectionOptions) {
    this.#hello = options.hello;
    this.address = options.address;
    this.#requestTimeoutMs = options.requestTimeoutMs;
    this.#timeouts = new DeadlineQueue(options.requestTimeoutMs, (exchange) => this.#onTimeout(exchange));
    this.#maxInFlight = options.maxInFlight;
    this.#onClose = options.onClose;
    this.#nextId = (options.firstId ?? 1) >>> 0;
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    this.#ready.catch(() => {}); // observed through `ready` or through the requests

    const { host, port } = parseHostPort(options.address);
    const t = options.tls;
    const socket =
      t === undefined
        ? net.connect({ host, port, noDelay: true })
        : tls.connect({ host, port, ...t, ...(t.servername === undefined && net.isIP(host) === 0 ? { servername: host } : {}) });
    if (t !== undefined) socket.setNoDelay(true);
    if (options.authFrame !== undefined) socket.write(options.authFrame);
    this.#socket = socket;
    this.#closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    this.#connectTimer = setTimeout(() => {
      this.destroy(new AttemptFailure('connection', this.address, false, `connecting to ${this.address} timed out after ${options.connectTimeoutMs} ms`));
    }, options.connectTimeoutMs);

    socket.on(t === undefined ? 'connect' : 'secureConnect', () => {
      clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
      this.#connected = true;
      this.#readyResolve();
      if (this.#hello !== undefined) this.#sendHello(options.connectTimeoutMs);
      this.#flush();
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => {
      this.#blocked = false;
      this.#flush();
    });
    socket.on('error', (error) => {
      if (isTlsError(error)) {
        this.destroy(new AttemptFailure('tls', this.address, false, `TLS with ${this.address} failed: ${error.message}`, error));
        return;
      }
      this.destroy(new AttemptFailure('connection', this.address, true, `connection to ${this.address} failed: ${error.message}`, error));
    });
    socket.on('close', () => {
      if (this.#helloId !== undefined && this.#error === undefined) {
        this.closedOnHello = true;
        const old = (this.#hello?.closesBefore ?? 0) >= 1;
        this.destroy(
          new AttemptFailure(
            old ? 'old-server' : 'connection',
            this.address,
            false,
            `server ${this.address} closed the connection on the client hello (op 32) without an answer${old ? ' again: it is a raftledger server older than this client (no client hello); upgrade it' : ''}`,
          ),
        );
        return;
      }
      this.destroy(new AttemptFailure('connection', this.address, true, `connection to ${this.address} was closed`));
    });
  }

  /** Connected: the hello goes first, alone (#flush holds the requests until its answer passed); a timer bounds its answer. */
  #sendHello(timeoutMs: number): void {
    this.#connectTimer = setTimeout(() => {
      this.destroy(new AttemptFailure('timeout', this.address, false, `${this.address} did not answer the client hello within ${timeoutMs} ms`));
    }, timeoutMs);
    const id = this.#allocateId();
    this.#helloId = id;
    this.#socket.write(encodeClientRequest({ id, group: 0, op: 'hello' }));
  }

  /** The hello's answer: checked, then the requests waiting for it are written. */
  #onHello(response: ClientResponse): void {
    this.#helloId = undefined;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    if (response.kind === 'error') {
      const { code, message } = response.error;
      this.destroy(new AttemptFailure(code === 'ERR_AUTH' ? 'auth' : 'connection', this.address, false, `server ${this.address} refused the client hello: ${code}: ${message}`));
      return;
    }
    if (response.kind !== 'hello') throw protocolError(`response ${response.id} (${response.kind}) does not answer the client hello`);
    const failure = this.#hello!.check(response.hello);
    if (failure !== undefined) {
      this.destroy(failure);
      return;
    }
    this.#flush();
  }

  /** Resolves once connected; rejects if the connection fails first. */
  get ready(): Promise<void> {
    return this.#ready;
  }

  get destroyed(): boolean {
    return this.#error !== undefined;
  }

  /** Requests written or about to be written, awaiting a response. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.#waiting.length - this.#waitingHead;
  }

  /** socket.write calls so far. */
  get writes(): number {
    return this.#writes;
  }

  /** Start a request; its outcome is exchange.promise. */
  send(request: Request): Exchange {
    const exchange = new Exchange(request, this);
    if (this.#error !== undefined) {
      exchange.state = DONE;
      exchange.reject(this.#error.withSent(false));
    } else if (this.#pending.size < this.#maxInFlight) {
      this.#dispatch(exchange);
    } else {
      this.#waiting.push(exchange);
    }
    return exchange;
  }

  /** Used by Exchange.cancel. */
  cancel(exchange: Exchange, error: Error): void {
    if (exchange.state === DONE) return;
    const wasPending = exchange.state === PENDING;
    this.#settle(exchange);
    exchange.reject(error);
    if (wasPending) this.#pump(); // a queued one is skipped when its turn comes
  }

  /** Fail the connection and every request on it. Idempotent. */
  destroy(error: AttemptFailure): void {
    if (this.#error !== undefined) return;
    this.#error = error;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    this.#socket.destroy();
    this.#readyReject(error);
    const pending = [...this.#pending.values()];
    const waiting = this.#waiting.slice(this.#waitingHead);
    this.#pending.clear();
    this.#timeouts.drain();
    this.#waiting = [];
    this.#waitingHead = 0;
    this.#outbox = [];
    for (const exchange of pending) {
      if (exchange.state === DONE) continue;
      this.#settle(exchange);
      exchange.reject(error.withSent(exchange.sent));
    }
    for (const exchange of waiting) {
      if (exchange.state === DONE) continue;
      exchange.state = DONE;
      exchange.reject(error.withSent(false));
    }
    this.#onClose?.(this);
  }

  /** Destroy (requests fail) and wait for the socket to close. */
  close(): Promise<void> {
    this.destroy(new AttemptFailure('connection', this.address, true, `connection to ${this.address} was closed by the client`));
    return this.#closed;
  }

  #settle(exchange: Exchange): void {
    if (exchange.state === PENDING) {
      this.#pending.delete(exchange.id);
      this.#timeouts.delete(exchange);
    }
    exchange.frame = undefined;
    exchange.state = DONE;
  }

  #allocateId(): number {
    for (;;) {
      const id = this.#nextId;
      this.#nextId = (id + 1) >>> 0;
      if (!this.#pending.has(id)) return id;
    }
  }

  #dispatch(exchange: Exchange): void {
    const id = this.#allocateId();
    try {
      exchange.frame = encodeClientRequest({ ...exchange.request, id } as ClientRequest);
    } catch (error) {
      // Misuse that only encoding can see (a request over the frame cap).
      exchange.state = DONE;
      exchange.reject(error as Error);
      return;
    }
    exchange.id = id;
    exchange.state = PENDING;
    this.#pending.set(id, exchange);
    this.#timeouts.add(exchange);
    this.#outbox.push(exchange);
    if (this.#immediate === undefined && this.#connected && !this.#blocked) {
      this.#immediate = setImmediate(() => {
        this.#immediate = undefined;
        this.#flush();
      });
    }
  }

  /** Move waiting requests into free slots. */
  #pump(): void {
    while (this.#error === undefined && this.#pending.size < this.#maxInFlight && this.#waitingHead < this.#waiting.length) {
      const exchange = this.#waiting[this.#waitingHead]!;
      this.#waiting[this.#waitingHead++] = undefined as unknown as Exchange;
      if (exchange.state === QUEUED) this.#dispatch(exchange);
    }
    if (this.#waitingHead === this.#waiting.length && this.#waitingHead > 0) {
      this.#waiting = [];
      this.#waitingHead = 0;
    } else if (this.#waitingHead > 1024 && this.#waitingHead * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#waitingHead);
      this.#waitingHead = 0;
    }
  }

  #flush(): void {
    if (!this.#connected || this.#blocked || this.#error !== undefined || this.#outbox.length === 0 || this.#helloId !== undefined) return;
    const outbox = this.#outbox;
    this.#outbox = [];
    const frames: Buffer[] = [];
    let bytes = 0;
    for (const exchange of outbox) {
      if (exchange.state !== PENDING || exchange.frame === undefined) continue; // timed out or cancelled meanwhile
      frames.push(exchange.frame);
      bytes += exchange.frame.length;
      exchange.frame = undefined;
      exchange.sent = true;
    }
    if (frames.length === 0) return;
    this.#writes++;
    const ok = this.#socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames, bytes));
    if (!ok) this.#blocked = true;
  }

  #onTimeout(exchange: Exchange): void {
    if (exchange.state !== PENDING) return;
    const sent = exchange.sent;
    this.#settle(exchange);
    exchange.reject(
      new AttemptFailure('timeout', this.address, sent, `request to ${this.address} got no response within ${this.#requestTimeoutMs} ms`),
    );
    this.#pump();
  }

  #onData(chunk: Buffer): void {
    if (this.#error !== undefined) return;
    try {
      for (const frame of this.#reader.frames(chunk)) {
        this.#onFrame(frame);
        if (this.#error !== undefined) return;
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.destroy(new AttemptFailure('protocol', this.address, true, `malformed response from ${this.address}: ${message}`, error));
    }
  }

  #onFrame(frame: Frame): void {
    const response = decodeClientResponseFrame(frame);
    if (this.#helloId !== undefined && response.id === this.#helloId) {
      this.#onHello(response);
      return;
    }
    const exchange = this.#pending.get(response.id);
    if (exchange === undefined) {
      if (response.kind === 'error' && response.id === CONNECTION_NOTICE_ID) {
        const { code, message } = response.error;
        const kind = code === 'ERR_AUTH' ? 'auth' : code === 'ERR_TLS' ? 'tls' : 'connection';
        this.destroy(new AttemptFailure(kind, this.address, true, `server ${this.address}: ${code}: ${message}`));
      }
      return; // else the attempt timed out or was cancelled: a late answer
    }
    if (!matches(exchange.request, response)) {
      throw protocolError(`response ${response.id} (${response.kind}) does not answer a ${exchange.request.op} request`);
    }
    this.#settle(exchange);
    exchange.resolve(response);
    this.#pump();
  }
}
