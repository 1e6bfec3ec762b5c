/**
 * A listening TCP server that survives accept errors (EMFILE, ENFILE, ENOBUFS, ...).
 *
 * Why: libuv retries accept() in a loop and calls Node back with every error; Node turns
 * each into a server 'error' event. With no listener that event kills the process; with a
 * listener that only logs, libuv loops on the failing accept() without ever returning to
 * the event loop (it stops only when the handle is closed), so nothing can free a
 * descriptor. (libuv's own reserve-descriptor trick hides most EMFILEs by accepting and
 * closing the waiting connections; the error reaches Node once that reserve is gone.)
 *
 * Contract: after listen() resolves, an accept error is logged, counted, and the listening
 * handle is closed (established connections are untouched); after a back-off
 * (initialDelayMs doubling to maxDelayMs, reset by the next accepted connection) the same
 * server listens again on the same host and bound port. A failed re-listen is logged and
 * retried the same way. Nothing here throws or exits; close() ends it all.
 */
import * as net from 'node:net';

export interface AcceptBackoff {
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Default back-off after an accept error: 100 ms doubling to 5 s. */
export const DEFAULT_ACCEPT_BACKOFF: Readonly<AcceptBackoff> = { initialDelayMs: 100, maxDelayMs: 5000 };

export interface AcceptGuardOptions {
  host: string;
  port: number;
  onConnection(socket: net.Socket): void;
  log(line: string): void;
  /** Names the listener in log lines, e.g. 'client port'. */
  what: string;
  backoff?: AcceptBackoff | undefined;
  serverOptions?: net.ServerOpts | undefined;
  /** Test seam: builds the net.Server (tests inject accept errors through its 'error' event). */
  createServer?: ((onConnection: (socket: net.Socket) => void) => net.Server) | undefined;
}

export function checkAcceptBackoff(b: AcceptBackoff | undefined, name: string): AcceptBackoff {
  if (b === undefined) return { ...DEFAULT_ACCEPT_BACKOFF };
  if (!(Number.isFinite(b.initialDelayMs) && b.initialDelayMs > 0 && Number.isFinite(b.maxDelayMs) && b.maxDelayMs >= b.initialDelayMs)) {
    throw new RangeError(`${name} needs finite 0 < initialDelayMs <= maxDelayMs`);
  }
  return { initialDelayMs: b.initialDelayMs, maxDelayMs: b.maxDelayMs };
}

type State = 'idle' | 'listening' | 'paused' | 'closed';

export class AcceptGuard {
  readonly #server: net.Server;
  readonly #options: AcceptGuardOptions;
  readonly #backoff: AcceptBackoff;
  #state: State = 'idle';
  #port: number;
  #boundHost: string;
  #timer: NodeJS.Timeout | undefined;
  #delayMs: number;
  #acceptErrors = 0;
  #lastError = '';

  constructor(options: AcceptGuardOptions) {
    this.#options = options;
    this.#backoff = checkAcceptBackoff(options.backoff, 'acceptBackoff');
    this.#delayMs = this.#backoff.initialDelayMs;
    this.#port = options.port;
    this.#boundHost = options.host;
    const onConnection = (socket: net.Socket): void => {
      this.#delayMs = this.#backoff.initialDelayMs;
      options.onConnection(socket);
    };
    this.#server = options.createServer !== undefined ? options.createServer(onConnection) : net.createServer(options.serverOptions ?? {}, onConnection);
  }

  /** Accept errors seen since construction. */
  get acceptErrors(): number {
    return this.#acceptErrors;
  }

  /** The last accept or re-listen error, '' if none. */
  get lastError(): string {
    return this.#lastError;
  }

  /** True while the port accepts connections (false during a back-off). */
  get accepting(): boolean {
    return this.#state === 'listening';
  }

  /** The bound address (the requested one until listen() resolves). */
  get address(): { host: string; port: number } {
    return { host: this.#boundHost, port: this.#port };
  }

  /** First listen; its error (EADDRINUSE, EACCES, ...) rejects as Node gives it. Resolves with the bound port. */
  listen(): Promise<number> {
    if (this.#state !== 'idle') {
      return Promise.reject(new Error(`${this.#options.what}: ${this.#state === 'closed' ? 'closed' : 'listen() called twice'}`));
    }
    return new Promise((resolve, reject) => {
      const server = this.#server;
      server.once('error', reject);
      server.listen({ host: this.#options.host, port: this.#options.port }, () => {
        server.off('error', reject);
        const address = server.address();
        if (typeof address === 'object' && address !== null) {
          this.#port = address.port;
          this.#boundHost = address.address;
        }
        if (this.#state === 'closed') {
          server.close();
        } else {
          this.#state = 'listening';
          server.on('error', (error) => this.#onError(error));
          server.on('listening', () => this.#onRelisten());
        }
        resolve(this.#port);
      });
    });
  }

  /** Stop listening and any pending re-listen. Established connections are the owner's to close first. */
  close(): Promise<void> {
    const wasIdle = this.#state === 'idle';
    this.#state = 'closed';
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (wasIdle && !this.#server.listening) return Promise.resolve();
    // Resolves on 'close': once the handle is closed and the server's connections are gone.
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #onError(error: NodeJS.ErrnoException): void {
    const what = this.#options.what;
    const reason = `${error.syscall ?? 'server'} ${error.code ?? ''}: ${error.message}`.replace(/\s+/g, ' ');
    if (this.#state === 'closed') return;
    if (this.#state === 'paused') {
      // The re-listen failed (port taken meanwhile, or still out of descriptors).
      this.#lastError = reason;
      this.#log(`${what}: listening again on ${this.#where()} failed (${reason}); next try in ${this.#delayMs} ms`);
      this.#schedule();
      return;
    }
    this.#acceptErrors++;
    this.#lastError = reason;
    // Closing the handle is what ends libuv's accept loop; connections already open stay.
    this.#state = 'paused';
    this.#server.close();
    this.#log(`${what}: accept failed (${reason}); not accepting connections on ${this.#where()} for ${this.#delayMs} ms`);
    this.#schedule();
  }

  #schedule(): void {
    const delayMs = this.#delayMs;
    this.#delayMs = Math.min(this.#backoff.maxDelayMs, delayMs * 2);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#state === 'paused') this.#server.listen({ host: this.#options.host, port: this.#port });
    }, delayMs);
  }

  #onRelisten(): void {
    if (this.#state !== 'paused') return;
    this.#state = 'listening';
    this.#log(`${this.#options.what}: accepting connections on ${this.#where()} again`);
  }

  #where(): string {
    const host = this.#options.host.includes(':') ? `[${this.#options.host}]` : this.#options.host;
    return `${host}:${this.#port}`;
  }

  #log(line: string): void {
    try {
      this.#options.log(line);
    } catch {
      // A throwing logger must not turn a recoverable condition into a crash.
    }
  }
}
