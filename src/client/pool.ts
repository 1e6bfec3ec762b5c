/** At most one live connection per server address, created on first use. */
import { Connection } from './connection.js';
import type { AttemptFailure } from './errors.js';
import type { WireHello } from '../transport/client-codec.js';
import { closedError } from './errors.js';
import type { ResolvedTls } from './options.js';

export interface PoolOptions {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  maxInFlight: number;
  tls?: ResolvedTls;
  authFrame?: Buffer;
  /** Every new connection sends the client hello and checks its answer with this (Connection's hello). */
  hello?: (info: WireHello, address: string) => AttemptFailure | undefined;
}

export class Pool {
  readonly #options: PoolOptions;
  readonly #connections = new Map<string, Connection>();
  /** Per address: connections in a row the server closed on the hello without an answer. */
  readonly #helloCloses = new Map<string, number>();
  #closed = false;

  constructor(options: PoolOptions) {
    this.#options = options;
  }

  /** The live connection to `address`, or a new one (replacing a destroyed one). */
  get(address: string): Connection {
    if (this.#closed) throw closedError();
    const existing = this.#connections.get(address);
    if (existing !== undefined && !existing.destroyed) return existing;
    const { hello, ...options } = this.#options;
    const connection = new Connection({
      address,
      ...options,
      ...(hello !== undefined ? { hello: { check: (info) => hello(info, address), closesBefore: this.#helloCloses.get(address) ?? 0 } } : {}),
      onClose: (c) => {
        if (this.#connections.get(address) === c) this.#connections.delete(address);
        if (c.closedOnHello) this.#helloCloses.set(address, (this.#helloCloses.get(address) ?? 0) + 1);
      },
    });
    this.#connections.set(address, connection);
    connection.ready.then(
      () => this.#helloCloses.delete(address),
      () => {},
    );
    return connection;
  }

  /** The live connection to `address`, if any (no new one). */
  peek(address: string): Connection | undefined {
    return this.#connections.get(address);
  }

  get size(): number {
    return this.#connections.size;
  }

  /** Destroy every connection and wait for the sockets to close. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(all.map((c) => c.close()));
  }
}
