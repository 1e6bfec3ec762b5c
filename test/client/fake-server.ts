/**
 * A scriptable stand-in for a raftledger server's client port: real TCP on
 * 127.0.0.1, real framing and codec, behaviour supplied per test.
 */
import net from 'node:net';

import {
  decodeClientRequestFrame,
  encodeClientResponse,
  type ClientRequest,
  type ClientResponse,
  type WireHello,
} from '../../src/transport/client-codec.js';
import { FrameReader } from '../../src/transport/frame.js';

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
export type Body = WithoutId<ClientResponse>;

/** What the server does with one request. */
export type Reply =
  | Body
  | { action: 'drop' } // destroy the connection
  | { action: 'ignore' } // never answer
  | { action: 'raw'; bytes: Buffer }; // write these bytes instead of a response

export interface Seen {
  request: ClientRequest;
  connection: number;
}

export type Handler = (request: ClientRequest, seen: Seen) => Reply | Promise<Reply>;

export class FakeServer {
  readonly server: net.Server;
  readonly address: string;
  readonly port: number;
  readonly seen: Seen[] = [];
  readonly sockets = new Set<net.Socket>();
  /** Data events per connection (socket chunks received). */
  readonly chunks: number[] = [];
  handler: Handler;
  /**
   * The answer to the client hello (op 32), which every client connection sends first: kept
   * out of `seen` and `chunks`. 'drop': close the connection on it, as a server from before
   * op 32 does.
   */
  hello: WireHello | 'drop' = { protocolVersion: 1, transportVersion: 5, serverId: 'fake', clusterId: 'raftledger', clusterUid: '00000000000000fa' };
  #waiters: { count: number; resolve: () => void }[] = [];

  private constructor(server: net.Server, handler: Handler) {
    this.server = server;
    this.handler = handler;
    const a = server.address() as net.AddressInfo;
    this.port = a.port;
    this.address = `127.0.0.1:${a.port}`;
  }

  static async start(handler: Handler = () => ({ kind: 'status', status: {} })): Promise<FakeServer> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const fake = new FakeServer(server, handler);
    server.on('connection', (socket) => fake.#accept(socket));
    return fake;
  }

  get connections(): number {
    return this.chunks.length;
  }

  get requests(): ClientRequest[] {
    return this.seen.map((s) => s.request);
  }

  /** Resolves once `count` requests have arrived in total. */
  received(count: number): Promise<void> {
    if (this.seen.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  #accept(socket: net.Socket): void {
    const connection = this.chunks.length;
    this.chunks.push(0);
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      this.chunks[connection]!++;
      let hellos = 0;
      let others = 0;
      for (const frame of reader.frames(chunk)) {
        const request = decodeClientRequestFrame(frame);
        if (request.op === 'hello') {
          hellos++;
          if (this.hello === 'drop') socket.destroy();
          else socket.write(encodeClientResponse({ id: request.id, kind: 'hello', hello: this.hello }));
          continue;
        }
        others++;
        const seen = { request, connection };
        this.seen.push(seen);
        this.#waiters = this.#waiters.filter((w) => (w.count <= this.seen.length ? (w.resolve(), false) : true));
        void Promise.resolve(this.handler(request, seen)).then((reply) => {
          if (socket.destroyed) return;
          if ('action' in reply) {
            if (reply.action === 'drop') socket.destroy();
            else if (reply.action === 'raw') socket.write(reply.bytes);
            return;
          }
          socket.write(encodeClientResponse({ ...reply, id: request.id } as ClientResponse));
        });
      }
      if (hellos > 0 && others === 0) this.chunks[connection]!--; // the hello's own chunk
    });
  }

  /** Stop reading from every open connection (the client's writes back up). */
  pauseAll(): void {
    for (const s of this.sockets) s.pause();
  }

  resumeAll(): void {
    for (const s of this.sockets) s.resume();
  }

  /** Drop every open connection (the listener stays). */
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A log shared by the fake servers of one test. */
export class FakeLog {
  readonly entries: Buffer[] = [];

  append(payloads: Uint8Array[]): Body {
    const ok = payloads.map((p) => {
      this.entries.push(Buffer.from(p));
      return { index: this.entries.length, pos: (this.entries.length - 1) * 100 };
    });
    return { kind: 'append', ok };
  }

  read(index: number): Body {
    const payload = this.entries[index - 1];
    if (payload === undefined) return { kind: 'read', entry: null };
    return { kind: 'read', entry: { index, term: 3, pos: (index - 1) * 100, type: 'normal', payload } };
  }

  readRange(from: number, limit: number): Body {
    const entries = this.entries.slice(from - 1, from - 1 + limit).map((payload, i) => ({ index: from + i, term: 3, pos: (from + i - 1) * 100, type: 'normal' as const, payload }));
    return { kind: 'entries', commitIndex: this.entries.length, next: from + entries.length, entries };
  }
}

/** A leader that serves `log`. */
export function leader(log: FakeLog, id = 'n1'): Handler {
  return (request) => {
    switch (request.op) {
      case 'append':
        return log.append(request.payloads);
      case 'read':
        return log.read(request.index);
      case 'status':
        return { kind: 'status', status: { id, role: 'leader', leader: id, group: request.group, lastIndex: log.entries.length } };
      case 'producerId':
        return { kind: 'producerId', producerId: 42, epoch: 0 };
      case 'commitPosition':
        return { kind: 'commitPosition', index: log.entries.length, pos: Math.max(0, log.entries.length - 1) * 100 };
      case 'members':
      case 'changeMembers':
        return { kind: 'members', members: { voters: [{ id, address: '' }], learners: [] } };
      case 'readRange':
        return log.readRange(request.from, request.limit);
      case 'hello': // answered by FakeServer itself
        return { action: 'drop' };
    }
  };
}

/** A follower: ERR_NOT_LEADER for appends and reads (with a hint, with or without an address). */
export function follower(id: string, leaderId: string, leaderAddress?: string): Handler {
  return (request) => {
    if (request.op === 'status') return { kind: 'status', status: { id, role: 'follower', leader: leaderId } };
    return {
      kind: 'error',
      error: {
        code: 'ERR_NOT_LEADER',
        message: `${id} is not the leader`,
        retriable: true,
        leaderHint: leaderAddress === undefined ? { id: leaderId } : { id: leaderId, address: leaderAddress },
      },
    };
  };
}

export function errorReply(code: string, message: string, retriable: boolean): Body {
  return { kind: 'error', error: { code, message, retriable } };
}

export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
