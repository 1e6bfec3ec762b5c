/** At most one live connection per server address, created on first use. */
import { Connection } from './connection.js';
import { closedError } from './errors.js';
import type { ResolvedTls } from './options.js';

export interface PoolOptions {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  maxInFlight: number;
  tls?: ResolvedTls;
  authFrame?: Buffer;
}

export class Pool {
  readonly #options: PoolOptions;
  readonly #connections = new Map<string, Connection>();
  #closed = false;

  constructor(options: PoolOptions) {
    this.#options = options;
  }

  /** The live connection to `address`, or a new one (replacing a destroyed one). */
  get(address: string): Connection {
    if (this.#closed) throw closedError();
    const existing = this.#connections.get(address);
    if (existing !== undefined && !existing.destroyed) return existing;
    const connection = new Connection({
      address,
      ...this.#options,
      onClose: (c) => {
        if (this.#connections.get(address) === c) this.#connections.delete(address);
      },
    });
    this.#connections.set(address, connection);
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
