/**
 * A fault-injecting TCP proxy for peer (Raft) traffic, on loopback only.
 *
 * One proxy listener per ORDERED pair (dialer, target): LocalCluster's `peerRoute` tells
 * each server to dial `target` through the proxy of (self, target). PeerTransport keeps
 * one connection per pair, dialed by the smaller id, so each connection passes through
 * exactly one proxy and the proxy knows both ends. Faults are set per DIRECTION of bytes
 * (from -> to), so one-way partitions are possible on a single TCP connection:
 *
 *  - 'pass'       forward at once;
 *  - 'blackhole'  read and discard (the peer's messages are lost). Discarding breaks the
 *                 byte stream's framing, so when the direction heals, every connection that
 *                 lost bytes is reset (both sides then reconnect: messages in flight are lost,
 *                 as with a real partition that outlasts TCP's patience);
 *  - 'hold'       stop reading (TCP backpressure holds the bytes); on heal, forward them all;
 *  - delay        forward each chunk after delayMs (+ up to jitterMs), in order;
 *  - loss         reset the connection with probability lossRate per forwarded chunk.
 *
 * New connections on a blackholed link are accepted and their bytes discarded the same way.
 */
import net from 'node:net';
import type { Prng } from './prng.js';

export interface LinkFault {
  mode: 'pass' | 'blackhole' | 'hold';
  delayMs?: number;
  jitterMs?: number;
  lossRate?: number;
}

const PASS: LinkFault = { mode: 'pass' };

interface Pipe {
  from: string;
  to: string;
  src: net.Socket;
  dst: net.Socket;
  /** Bytes were discarded: the stream is broken and must be reset on heal. */
  broken: boolean;
  held: Buffer[];
  /** When the last delayed chunk is due (keeps order). */
  lastDue: number;
}

interface ProxyConn {
  a: net.Socket;
  b: net.Socket;
  pipes: [Pipe, Pipe];
  closed: boolean;
}

export class FaultNet {
  readonly #faults = new Map<string, LinkFault>();
  readonly #servers: net.Server[] = [];
  readonly #conns = new Set<ProxyConn>();
  readonly #rng: Prng;
  #closed = false;
  /** Counters for the summary. */
  readonly stats = { connections: 0, resets: 0, discardedBytes: 0 };

  constructor(rng: Prng) {
    this.#rng = rng;
  }

  /** Listen for `dialer`'s connections to `target` (real address); returns the proxy's address. */
  async route(dialer: string, target: string, targetAddress: string): Promise<string> {
    const sep = targetAddress.lastIndexOf(':');
    const host = targetAddress.slice(0, sep);
    const port = Number(targetAddress.slice(sep + 1));
    const server = net.createServer((client) => this.#accept(dialer, target, client, host, port));
    server.on('error', () => {});
    this.#servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address() as net.AddressInfo;
    return `127.0.0.1:${address.port}`;
  }

  #accept(dialer: string, target: string, client: net.Socket, host: string, port: number): void {
    if (this.#closed) {
      client.destroy();
      return;
    }
    this.stats.connections++;
    const upstream = net.connect({ host, port });
    const conn: ProxyConn = {
      a: client,
      b: upstream,
      closed: false,
      pipes: [
        { from: dialer, to: target, src: client, dst: upstream, broken: false, held: [], lastDue: 0 },
        { from: target, to: dialer, src: upstream, dst: client, broken: false, held: [], lastDue: 0 },
      ],
    };
    this.#conns.add(conn);
    const close = (): void => {
      if (conn.closed) return;
      conn.closed = true;
      this.#conns.delete(conn);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      s.on('error', close);
      s.on('close', close);
    }
    for (const pipe of conn.pipes) pipe.src.on('data', (chunk: Buffer) => this.#forward(conn, pipe, chunk));
    for (const pipe of conn.pipes) if (this.fault(pipe.from, pipe.to).mode === 'hold') pipe.src.pause();
  }

  #forward(conn: ProxyConn, pipe: Pipe, chunk: Buffer): void {
    if (conn.closed) return;
    const f = this.fault(pipe.from, pipe.to);
    if (f.mode === 'blackhole') {
      pipe.broken = true;
      this.stats.discardedBytes += chunk.byteLength;
      return;
    }
    if (f.mode === 'hold') {
      pipe.held.push(chunk);
      pipe.src.pause();
      return;
    }
    if (f.lossRate !== undefined && f.lossRate > 0 && this.#rng.next() < f.lossRate) {
      this.stats.resets++;
      conn.a.destroy();
      conn.b.destroy();
      return;
    }
    const delay = (f.delayMs ?? 0) + (f.jitterMs !== undefined && f.jitterMs > 0 ? this.#rng.next() * f.jitterMs : 0);
    if (delay <= 0 && pipe.lastDue <= Date.now()) {
      pipe.dst.write(chunk);
      return;
    }
    const due = Math.max(Date.now() + delay, pipe.lastDue);
    pipe.lastDue = due;
    setTimeout(() => {
      if (!conn.closed) pipe.dst.write(chunk);
    }, due - Date.now()).unref();
  }

  fault(from: string, to: string): LinkFault {
    return this.#faults.get(`${from}>${to}`) ?? PASS;
  }

  /** Set the fault of bytes flowing from -> to. */
  set(from: string, to: string, fault: LinkFault): void {
    const before = this.fault(from, to);
    if (fault.mode === 'pass' && fault.delayMs === undefined && fault.lossRate === undefined) this.#faults.delete(`${from}>${to}`);
    else this.#faults.set(`${from}>${to}`, fault);
    for (const conn of [...this.#conns]) {
      for (const pipe of conn.pipes) {
        if (pipe.from !== from || pipe.to !== to) continue;
        if (fault.mode === 'hold') pipe.src.pause();
        if (before.mode === 'hold' && fault.mode !== 'hold') {
          const held = pipe.held.splice(0);
          for (const chunk of held) this.#forward(conn, pipe, chunk);
          pipe.src.resume();
        }
        if (fault.mode !== 'blackhole' && pipe.broken) {
          this.stats.resets++;
          conn.a.destroy();
          conn.b.destroy();
        }
      }
    }
  }

  /** Both directions between a and b. */
  setLink(a: string, b: string, fault: LinkFault): void {
    this.set(a, b, fault);
    this.set(b, a, fault);
  }

  /** Remove every fault (held bytes flow, broken streams reset). */
  healAll(): void {
    for (const key of [...this.#faults.keys()]) {
      const [from, to] = key.split('>') as [string, string];
      this.set(from, to, PASS);
    }
  }

  get activeFaults(): string[] {
    return [...this.#faults.entries()].map(([k, f]) => `${k}:${f.mode}${f.delayMs !== undefined ? `+${f.delayMs}ms` : ''}${f.lossRate !== undefined ? `~${f.lossRate}` : ''}`);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const conn of this.#conns) {
      conn.a.destroy();
      conn.b.destroy();
    }
    this.#conns.clear();
    await Promise.all(this.#servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
