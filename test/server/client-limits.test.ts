/**
 * Client-port limits (issue 11 item 5), each on loopback with small limits: the connection
 * cap (the Raft port unaffected), idle and frame timeouts, bounded buffering of unfinished
 * frames, and accept errors (EMFILE) as a paused, resumed listener.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { connect, type Client } from '../../src/client/index.js';
import { RaftLedgerError } from '../../src/errors.js';
import { defaultMaxConnections, resolveClientLimits } from '../../src/server/client-limits.js';
import { PeerTransport } from '../../src/transport/peer-transport.js';
import { FakeLog, FakeServer, leader } from '../client/fake-server.js';
import { RawClient, requestHeader, startListener, waitFor, type Started } from './helpers.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listener(options: Parameters<typeof startListener>[0]): Promise<Started> {
  const s = await startListener(options);
  cleanups.push(() => s.listener.close());
  return s;
}

async function client(address: string, deadlineMs = 10_000): Promise<Client> {
  const c = await connect({ servers: [address], deadlineMs, requestTimeoutMs: Math.min(deadlineMs, 5000) });
  cleanups.push(() => c.close());
  return c;
}

async function raw(port: number): Promise<RawClient> {
  const r = await RawClient.open(port);
  cleanups.push(() => r.destroy());
  return r;
}

describe('client port: connection cap', () => {
  it('refuses connections past maxConnections with a notice, while an established client appends and the Raft port accepts', async () => {
    const CAP = 5;
    const EXTRA = 6;
    const s = await listener({ maxConnections: CAP });
    const c = await client(s.address);
    await c.append(Buffer.from('before'));

    const accepted: RawClient[] = [];
    for (let i = 0; i < CAP - 1; i++) accepted.push(await raw(s.port));
    await waitFor(() => s.listener.stats().connections === CAP, `${CAP} connections open`);

    const extra: RawClient[] = [];
    for (let i = 0; i < EXTRA; i++) extra.push(await raw(s.port));
    for (const r of extra) await r.waitClosed('a connection past the cap is closed');
    for (const r of extra) {
      expect(r.notice()).toMatchObject({ code: 'ERR_OVERLOADED', retriable: true });
      expect(r.notice()!.message).toContain('maxConnections');
    }
    expect(s.listener.stats()).toMatchObject({ connections: CAP, refused: EXTRA, accepted: CAP });
    expect(s.logs.some((l) => l.includes('refusing client') && l.includes('maxConnections'))).toBe(true);
    for (const r of accepted) expect(r.isClosed).toBe(false);

    // The established client keeps working at the cap.
    for (let i = 0; i < 20; i++) await c.append(Buffer.from(`at cap ${i}`));
    expect(s.router.entries).toHaveLength(21);

    // The Raft port is a separate listener: two transports connect while the client port is full.
    const log: string[] = [];
    const make = (id: string, peer: string): PeerTransport =>
      new PeerTransport({
        id,
        listen: { host: '127.0.0.1', port: 0 },
        peers: { [peer]: '' },
        handshake: { clusterId: 'limits', segmentSizeBytes: 1 << 20 },
        reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
        onMessage: () => {},
        log: (line) => log.push(line),
      });
    const a = make('a', 'b');
    const b = make('b', 'a');
    cleanups.push(() => a.close(), () => b.close());
    const bAddress = await b.start();
    await a.start();
    a.setPeerAddress('b', `127.0.0.1:${bAddress.port}`);
    await waitFor(() => a.isConnected('b') && b.isConnected('a'), 'the Raft peers connect');

    // A freed slot is usable again.
    accepted[0]!.destroy();
    await waitFor(() => s.listener.stats().connections === CAP - 1, 'a slot frees');
    const again = await raw(s.port);
    await waitFor(() => s.listener.stats().accepted === CAP + 1, 'a new connection is accepted');
    expect(again.isClosed).toBe(false);
  });

  it('a client refused at the cap fails with the server reason, not a silent hang', async () => {
    const s = await listener({ maxConnections: 1 });
    const first = await client(s.address);
    await first.append(Buffer.from('x'));
    const second = await client(s.address, 600);
    const error = await second.append(Buffer.from('y')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RaftLedgerError);
    expect(String((error as Error & { cause?: Error }).cause?.message)).toMatch(/ERR_OVERLOADED.*maxConnections/);
    expect(s.listener.stats().refused).toBeGreaterThan(0);
    expect(s.router.entries).toHaveLength(1);
  });

  it('defaults: a quarter of the open-file limit, 64..4096; 1024 when unknown', () => {
    expect(defaultMaxConnections(20_000)).toBe(4096);
    expect(defaultMaxConnections(1024)).toBe(256);
    expect(defaultMaxConnections(100)).toBe(64);
    expect(defaultMaxConnections(undefined)).toBe(1024);
    expect(resolveClientLimits({})).toMatchObject({ idleTimeoutMs: 300_000, frameTimeoutMs: 60_000, maxPendingFrameBytesTotal: 256 * 1024 * 1024 });
    expect(() => resolveClientLimits({ maxConnections: 0 })).toThrow(RangeError);
    expect(() => resolveClientLimits({ idleTimeoutMs: -1 })).toThrow(/idleTimeoutMs/);
  });
});

describe('client port: idle timeout', () => {
  it('closes an idle connection, and the client reconnects transparently for its next request', async () => {
    const s = await listener({ idleTimeoutMs: 150 });
    const c = await client(s.address);
    await c.append(Buffer.from('one'));
    await waitFor(() => s.listener.stats().closedIdle === 1 && s.listener.stats().connections === 0, 'the idle connection is closed');
    const ack = await c.append(Buffer.from('two'));
    expect(ack.index).toBe(2);
    expect(s.listener.stats().accepted).toBe(2);
    expect(s.router.entries.map((e) => Buffer.from(e).toString())).toEqual(['one', 'two']);
  });

  it('the client also reconnects when an idle connection is dropped without a notice (an older server)', async () => {
    const log = new FakeLog();
    const fake = await FakeServer.start(leader(log, 'n1'));
    cleanups.push(() => fake.close());
    const c = await client(fake.address);
    await c.append(Buffer.from('one'));
    fake.dropAll();
    await waitFor(() => fake.sockets.size === 0, 'the server side is gone');
    await c.append(Buffer.from('two'));
    expect(fake.connections).toBe(2);
    expect(log.entries.map(String)).toEqual(['one', 'two']);
  });

  it('closes a connection that never sends anything, with a notice', async () => {
    const s = await listener({ idleTimeoutMs: 100 });
    const r = await raw(s.port);
    await r.waitClosed('a silent connection is closed');
    expect(r.notice()).toMatchObject({ code: 'ERR_UNAVAILABLE', retriable: true });
    expect(s.listener.stats().closedIdle).toBe(1);
  });
});

describe('client port: frame timeout', () => {
  it('closes a connection that sent half a header, or a header and half a body', async () => {
    const s = await listener({ frameTimeoutMs: 150 });
    const halfHeader = await raw(s.port);
    await halfHeader.write(requestHeader(100).subarray(0, 3));
    const halfBody = await raw(s.port);
    await halfBody.write(Buffer.concat([requestHeader(1000), Buffer.alloc(400)]));
    const healthy = await client(s.address);

    await halfHeader.waitClosed('half a header is closed');
    await halfBody.waitClosed('half a body is closed');
    for (const r of [halfHeader, halfBody]) expect(r.notice()).toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(s.listener.stats().closedFrameTimeout).toBe(2);
    expect(s.logs.filter((l) => l.includes('frameTimeoutMs'))).toHaveLength(2);
    expect(s.listener.stats().pendingFrameBytes).toBe(0);
    await healthy.append(Buffer.from('still fine'));
  });
});

describe('client port: bytes of unfinished frames', () => {
  it('keeps the total under maxPendingFrameBytesTotal by closing the connection that goes past it', async () => {
    const TOTAL = 1024 * 1024;
    const BODY = 300 * 1024; // sent of each frame
    const s = await listener({ maxPendingFrameBytesTotal: TOTAL });
    const clients: RawClient[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await raw(s.port);
      clients.push(r);
      const before = s.listener.stats();
      await r.write(Buffer.concat([requestHeader(400 * 1024), Buffer.alloc(BODY, i)]));
      await waitFor(() => {
        const now = s.listener.stats();
        return r.isClosed || now.pendingFrameBytes === before.pendingFrameBytes + 6 + BODY;
      }, `connection ${i} buffered or closed`);
      expect(s.listener.stats().peakPendingFrameBytes).toBeLessThanOrEqual(TOTAL);
    }
    const stats = s.listener.stats();
    // 3 x 300 KiB fit in 1 MiB; each later one goes past it and is closed.
    expect(stats.closedOverBuffer).toBe(5);
    expect(stats.pendingFrameBytes).toBe(3 * (6 + BODY));
    for (const r of clients.slice(3)) expect(r.notice()).toMatchObject({ code: 'ERR_OVERLOADED', retriable: true });
    expect(s.logs.filter((l) => l.includes('maxPendingFrameBytesTotal'))).toHaveLength(5);
    for (const r of clients.slice(0, 3)) r.destroy();
    await waitFor(() => s.listener.stats().pendingFrameBytes === 0, 'closing connections gives their bytes back');
  });

  it('refuses a frame bigger than maxPendingFrameBytesPerConnection from its header', async () => {
    const s = await listener({ maxPendingFrameBytesPerConnection: 64 * 1024 });
    const r = await raw(s.port);
    await r.write(requestHeader(100 * 1024));
    await r.waitClosed('an oversized frame is closed');
    expect(s.logs.some((l) => l.includes('exceeds the cap'))).toBe(true);
    expect(s.listener.stats().pendingFrameBytes).toBe(0);
    const c = await client(s.address);
    await c.append(Buffer.alloc(60 * 1024, 1)); // under the cap: fine
  });
});

describe('client port: accept errors', () => {
  it('an EMFILE on accept is logged, pauses accepting, and the listener serves again after a back-off', async () => {
    const servers: net.Server[] = [];
    const s = await listener({
      acceptBackoff: { initialDelayMs: 300, maxDelayMs: 300 },
      createServer: (onConnection) => {
        const server = net.createServer(onConnection);
        servers.push(server);
        return server;
      },
    });
    const c = await client(s.address);
    await c.append(Buffer.from('before'));

    // What Node emits when libuv's accept() fails with EMFILE.
    const emfile = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', errno: -24, syscall: 'accept' });
    servers[0]!.emit('error', emfile);
    expect(s.listener.stats()).toMatchObject({ acceptErrors: 1, accepting: false });
    expect(s.logs.some((l) => l.includes('EMFILE') && l.includes('not accepting'))).toBe(true);

    // The handle is closed during the back-off (that is what ends libuv's accept loop)...
    const refused = await new Promise<string>((resolve) => {
      const probe = net.connect({ host: '127.0.0.1', port: s.port });
      probe.once('connect', () => {
        probe.destroy();
        resolve('connected');
      });
      probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
    // ...while established connections keep working.
    await c.append(Buffer.from('during'));

    await waitFor(() => s.listener.stats().accepting, 'accepting again');
    expect(s.logs.some((l) => l.includes('accepting connections') && l.includes('again'))).toBe(true);
    const fresh = await client(s.address);
    await fresh.append(Buffer.from('after'));
    expect(s.router.entries).toHaveLength(3);
  });
});
