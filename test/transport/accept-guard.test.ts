/**
 * Accept errors (EMFILE, ENFILE) on a listening port: logged, accepting paused (the handle
 * closed, which is what ends libuv's accept loop), resumed after a back-off; established
 * connections untouched. Injected through the net.Server's 'error' event, the way Node
 * reports a failed accept().
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { AcceptGuard } from '../../src/transport/accept-guard.js';
import { PeerTransport } from '../../src/transport/peer-transport.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function acceptError(code: 'EMFILE' | 'ENFILE'): Error {
  return Object.assign(new Error(`accept ${code}`), { code, errno: code === 'EMFILE' ? -24 : -23, syscall: 'accept' });
}

/** 'connected' or the connect error's code. */
function probe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

async function waitFor(condition: () => boolean, what: string, limitMs = 15_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('PeerTransport: accept errors on the Raft port', () => {
  it('EMFILE pauses accepting with a logged reason, then the peer connects after the back-off', async () => {
    const servers: net.Server[] = [];
    const logs: string[] = [];
    const make = (id: string, peer: string, extra: Partial<ConstructorParameters<typeof PeerTransport>[0]> = {}): PeerTransport =>
      new PeerTransport({
        id,
        listen: { host: '127.0.0.1', port: 0 },
        peers: { [peer]: '' },
        handshake: { clusterId: 'emfile', segmentSizeBytes: 1 << 20 },
        reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
        onMessage: () => {},
        log: (line) => logs.push(line),
        ...extra,
      });
    // 'a' dials 'b' (the smaller id dials); b's port gets the accept error.
    const b = make('b', 'a', {
      acceptBackoff: { initialDelayMs: 300, maxDelayMs: 300 },
      createServer: (onConnection) => {
        const server = net.createServer(onConnection);
        servers.push(server);
        return server;
      },
    });
    const a = make('a', 'b');
    cleanups.push(() => a.close(), () => b.close());
    const bAddress = await b.start();
    await a.start();

    servers[0]!.emit('error', acceptError('EMFILE'));
    expect(logs.some((l) => l.includes('Raft port') && l.includes('EMFILE') && l.includes('not accepting'))).toBe(true);
    expect(await probe(bAddress.port)).toBe('ECONNREFUSED');

    a.setPeerAddress('b', `127.0.0.1:${bAddress.port}`);
    await waitFor(() => a.isConnected('b') && b.isConnected('a'), 'a connects to b once b accepts again');
    expect(logs.some((l) => l.includes('Raft port: accepting connections') && l.includes('again'))).toBe(true);

    // An accept error with a connection established leaves that connection alone.
    servers[0]!.emit('error', acceptError('ENFILE'));
    expect(a.isConnected('b')).toBe(true);
    await waitFor(() => logs.filter((l) => l.includes('Raft port: accepting connections')).length === 2, 'accepting again after the second error');
    expect(a.isConnected('b')).toBe(true);
  });
});

describe('AcceptGuard', () => {
  it('retries a re-listen that fails (port taken meanwhile) until it succeeds', async () => {
    const servers: net.Server[] = [];
    const logs: string[] = [];
    const accepted: net.Socket[] = [];
    const guard = new AcceptGuard({
      host: '127.0.0.1',
      port: 0,
      what: 'test port',
      log: (line) => logs.push(line),
      backoff: { initialDelayMs: 200, maxDelayMs: 400 },
      onConnection: (socket) => accepted.push(socket),
      createServer: (onConnection) => {
        const server = net.createServer(onConnection);
        servers.push(server);
        return server;
      },
    });
    cleanups.push(() => {
      for (const s of accepted) s.destroy();
      return guard.close();
    });
    const port = await guard.listen();
    servers[0]!.emit('error', acceptError('EMFILE'));
    expect(guard.accepting).toBe(false);

    // Someone else takes the port during the back-off: re-listening fails, is logged, retried.
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    await waitFor(() => logs.some((l) => l.includes('listening again') && l.includes('EADDRINUSE')), 'the failed re-listen is logged');
    expect(guard.accepting).toBe(false);
    await new Promise<void>((resolve) => squatter.close(() => resolve()));

    await waitFor(() => guard.accepting, 'accepting once the port is free');
    expect(await probe(port)).toBe('connected');
    await waitFor(() => accepted.length === 1, 'the connection reaches onConnection');
    expect(guard.acceptErrors).toBe(1);
  });

  it('a first listen error rejects as Node reports it', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const port = (taken.address() as net.AddressInfo).port;
    const guard = new AcceptGuard({ host: '127.0.0.1', port, what: 'test port', log: () => {}, onConnection: (s) => s.destroy() });
    await expect(guard.listen()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await guard.close();
  });
});
