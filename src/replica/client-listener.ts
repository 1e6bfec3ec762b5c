/**
 * The client port of a replica: decodes client requests (src/transport/client-codec.ts),
 * hands them to the ledger that owns the request's group, and writes responses.
 * Responses finished in the same event-loop turn go out in one write per connection.
 * A malformed frame closes that connection with a logged reason; nothing else is harmed.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { RaftLedgerError } from '../errors.js';
import { FrameReader } from '../transport/frame.js';
import { decodeClientRequestFrame, encodeClientResponse, type ClientRequest, type ClientResponse } from '../transport/client-codec.js';
import type { Ledger } from './ledger.js';

export interface ClientListenerOptions {
  host: string;
  port: number;
  /** The ledger serving `group`, or undefined for an unknown group. */
  ledgerFor: (group: number) => Ledger | undefined;
  /** Max requests in flight per connection before reading pauses (default 8192). */
  maxInFlightPerConnection?: number;
  log?: (line: string) => void;
}

const HIGH_WATER_BYTES = 8 * 1024 * 1024;

class ClientConnection {
  readonly #socket: Socket;
  readonly #reader = new FrameReader();
  readonly #options: ClientListenerOptions;
  readonly #maxInFlight: number;
  #inFlight = 0;
  #out: Buffer[] = [];
  #flushScheduled = false;
  #closed = false;
  #paused = false;

  constructor(socket: Socket, options: ClientListenerOptions) {
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
    const ledger = this.#options.ledgerFor(request.group);
    if (ledger === undefined) {
      this.#respondError(request.id, new RaftLedgerError('ERR_BAD_CONFIG', `this server does not host group ${request.group}`));
      return;
    }
    this.#inFlight++;
    if (this.#inFlight >= this.#maxInFlight) this.#pause();
    switch (request.op) {
      case 'append':
        ledger.append(request.payloads).then(
          (ok) => this.#respond({ id: request.id, kind: 'append', ok }),
          (error: unknown) => this.#respondError(request.id, error),
        );
        return;
      case 'read':
        try {
          const entry = ledger.read(request.index);
          this.#respond({ id: request.id, kind: 'read', entry: entry === null ? null : { ...entry, type: entry.type as 1 | 2 | 3 } });
        } catch (error) {
          this.#respondError(request.id, error);
        }
        return;
      case 'status':
        try {
          this.#respond({ id: request.id, kind: 'status', status: ledger.status() as unknown as Record<string, unknown> });
        } catch (error) {
          this.#respondError(request.id, error);
        }
        return;
    }
  }

  #respondError(id: number, error: unknown): void {
    const e = error as { code?: unknown; message?: unknown; retriable?: unknown; leaderHint?: { id: string; address?: string } };
    const code = typeof e?.code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(e.code) && e.code.length <= 64 ? e.code : error instanceof RangeError ? 'ERR_OUT_OF_RANGE' : 'ERR_INTERNAL';
    const message = typeof e?.message === 'string' ? e.message.slice(0, 60_000) : String(error);
    this.#respond({
      id,
      kind: 'error',
      error: {
        code,
        message: message === '' ? code : message,
        retriable: e?.retriable === true,
        ...(e?.leaderHint !== undefined ? { leaderHint: e.leaderHint } : {}),
      },
    });
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
  #closing: Promise<void> | undefined;

  constructor(options: ClientListenerOptions) {
    this.#options = options;
    this.#server = createServer((socket) => {
      const connection = new ClientConnection(socket, options);
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
    this.#closing = new Promise<void>((resolve) => {
      for (const c of this.#connections) c.close();
      this.#server.close(() => resolve());
    });
    return this.#closing;
  }
}
