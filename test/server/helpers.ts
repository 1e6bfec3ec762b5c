/** Loopback helpers for the client-port limit tests: a memory router, raw sockets, bounded waits. */
import net from 'node:net';

import { ClientListener, ledgerMapRouter, type ClientListenerOptions, type LedgerRouter } from '../../src/server/client-listener.js';
import type { Ledger } from '../../src/replica/ledger.js';
import { MemoryCluster } from '../support/memory-cluster.js';
import { pollUntil } from '../support/wait.js';
import { decodeClientResponseFrame } from '../../src/transport/client-codec.js';
import type { WireError } from '../../src/errors.js';
import { FrameReader } from '../../src/transport/frame.js';

/** Group 0 only; appends are kept in memory; status() answers `status`. */
export function memoryRouter(status: Record<string, unknown> = { role: 'leader' }): LedgerRouter & { entries: Uint8Array[] } {
  const entries: Uint8Array[] = [];
  return {
    entries,
    hasGroup: (group) => group === 0,
    append: async (_group, payloads) =>
      payloads.map((p) => {
        entries.push(Buffer.from(p));
        return { index: entries.length, pos: entries.length * 100 };
      }),
    read: () => null,
    status: () => status,
    commitPosition: async () => ({ index: entries.length, pos: entries.length * 100 }),
  };
}

/**
 * A one-replica MemoryCluster whose leader serves group 0 behind a ClientListener on a free
 * loopback port; both are closed by the functions pushed on `cleanup` (in reverse order).
 */
export async function listenOnOneLedger(cleanup: Array<() => Promise<void> | void>): Promise<{ ledger: Ledger; listener: ClientListener; port: number }> {
  const cluster = new MemoryCluster(1);
  cleanup.push(() => cluster.close());
  await cluster.startAll();
  const ledger = await cluster.waitForLeader();
  const listener = new ClientListener({ host: '127.0.0.1', port: 0, router: ledgerMapRouter((g) => (g === 0 ? ledger : undefined)), log: () => {} });
  const port = await listener.listen();
  cleanup.push(() => listener.close());
  return { ledger, listener, port };
}

export interface Started {
  listener: ClientListener;
  port: number;
  address: string;
  logs: string[];
  router: ReturnType<typeof memoryRouter>;
}

export async function startListener(options: Partial<ClientListenerOptions> = {}): Promise<Started> {
  const logs: string[] = [];
  const router = memoryRouter();
  const listener = new ClientListener({ host: '127.0.0.1', port: 0, router, log: (line) => logs.push(line), ...options });
  const port = await listener.listen();
  return { listener, port, address: `127.0.0.1:${port}`, logs, router };
}

/** Poll `condition` every 10 ms; fail after `limitMs` (a liveness bound, not a speed claim). */
export function waitFor(condition: () => boolean, what: string, limitMs = 15_000): Promise<void> {
  return pollUntil(condition, what, { limitMs });
}

/** A raw client socket that records what the server sends and when it closes. */
export class RawClient {
  readonly socket: net.Socket;
  readonly received: Buffer[] = [];
  readonly connected: Promise<void>;
  readonly closed: Promise<void>;
  isClosed = false;
  error: Error | undefined;

  constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.on('data', (chunk: Buffer) => this.received.push(chunk));
    this.socket.on('error', (error) => (this.error = error));
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  static async open(port: number): Promise<RawClient> {
    const c = new RawClient(port);
    await c.connected;
    return c;
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (error) => (error ? reject(error) : resolve())));
  }

  /** Wait (bounded) for the server to close this connection. */
  async waitClosed(what: string): Promise<void> {
    await waitFor(() => this.isClosed, what);
  }

  /** The connection notice the server sent (id 0 error), if any. */
  notice(): WireError | undefined {
    const reader = new FrameReader();
    for (const frame of reader.frames(Buffer.concat(this.received))) {
      const response = decodeClientResponseFrame(frame);
      if (response.kind === 'error' && response.id === 0) return response.error;
    }
    return undefined;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** The 6-byte frame header of a client request frame whose body is `bodyBytes` long. */
export function requestHeader(bodyBytes: number): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt32LE(bodyBytes + 2, 0);
  header[4] = 1; // protocol version
  header[5] = 16; // FrameKind.ClientRequest
  return header;
}
