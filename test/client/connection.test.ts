import { afterEach, describe, expect, it } from 'vitest';

import { Connection } from '../../src/client/connection.js';
import { AttemptFailure } from '../../src/client/errors.js';
import type { ClientRequest } from '../../src/transport/client-codec.js';
import { deferred, FakeServer, type Reply } from './fake-server.js';

const servers: FakeServer[] = [];
const connections: Connection[] = [];

afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function setup(
  handler: Parameters<typeof FakeServer.start>[0],
  options: Partial<ConstructorParameters<typeof Connection>[0]> = {},
): Promise<{ server: FakeServer; conn: Connection }> {
  const server = await FakeServer.start(handler);
  servers.push(server);
  const conn = new Connection({ address: server.address, connectTimeoutMs: 5000, requestTimeoutMs: 5000, maxInFlight: 4096, ...options });
  connections.push(conn);
  await conn.ready;
  return { server, conn };
}

const status = { group: 0, op: 'status' } as const;

describe('Connection', () => {
  it('request ids wrap around u32', async () => {
    const { server, conn } = await setup(() => ({ kind: 'status', status: {} }), { firstId: 0xffff_fffe });
    await Promise.all([conn.send(status).promise, conn.send(status).promise, conn.send(status).promise]);
    expect(server.requests.map((r) => r.id)).toEqual([0xffff_fffe, 0xffff_ffff, 0]);
  });

  it('writes the requests of one turn with one socket.write', async () => {
    const { conn } = await setup(() => ({ kind: 'status', status: {} }));
    await Promise.all(Array.from({ length: 50 }, () => conn.send(status).promise));
    expect(conn.writes).toBe(1);
    await conn.send(status).promise;
    expect(conn.writes).toBe(2);
  });

  it('keeps at most maxInFlight requests outstanding; the rest wait for a slot', async () => {
    const held: ((r: Reply) => void)[] = [];
    const { server, conn } = await setup(
      () => {
        const d = deferred<Reply>();
        held.push(d.resolve);
        return d.promise;
      },
      { maxInFlight: 2 },
    );
    const all = Array.from({ length: 5 }, () => conn.send(status).promise);
    await server.received(2);
    expect(conn.inFlight).toBe(2);
    expect(conn.queued).toBe(3);
    held.shift()!({ kind: 'status', status: {} });
    await server.received(3);
    expect(conn.queued).toBe(2);
    while (server.seen.length < 5 || held.length > 0) {
      if (held.length > 0) held.shift()!({ kind: 'status', status: {} });
      else await server.received(server.seen.length + 1);
    }
    await Promise.all(all);
    expect(server.requests).toHaveLength(5);
    expect(conn.inFlight).toBe(0);
  });

  it('waits for drain when the socket is backed up', async () => {
    const { server, conn } = await setup((request) =>
      request.op === 'append' ? { kind: 'append', ok: request.payloads.map((_, i) => ({ index: i + 1, pos: 0 })) } : { kind: 'status', status: {} },
    );
    await conn.send(status).promise; // the server has accepted the socket
    server.pauseAll();
    const big = Buffer.alloc(1024 * 1024, 7);
    const first = Array.from({ length: 32 }, () => conn.send({ group: 0, op: 'append', payloads: [big] }).promise);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(conn.writes).toBe(2); // the 32 MiB did not fit: the socket is not writable
    const second = conn.send(status).promise;
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(conn.writes).toBe(2); // held in the outbox until 'drain'
    server.resumeAll();
    await Promise.all([...first, second]);
    expect(conn.writes).toBe(3);
    expect(server.requests).toHaveLength(34);
  });

  it('times out an attempt and ignores its late answer', async () => {
    const late = deferred<Reply>();
    let first = true;
    const { conn } = await setup(
      () => {
        if (!first) return { kind: 'status', status: { second: true } };
        first = false;
        return late.promise;
      },
      { requestTimeoutMs: 50 },
    );
    const e = await conn.send(status).promise.catch((error: unknown) => error);
    expect(e).toBeInstanceOf(AttemptFailure);
    expect((e as AttemptFailure).kind).toBe('timeout');
    expect((e as AttemptFailure).sent).toBe(true);
    late.resolve({ kind: 'status', status: { first: true } });
    expect(await conn.send(status).promise).toMatchObject({ kind: 'status', status: { second: true } });
    expect(conn.destroyed).toBe(false);
  });

  it('destroys itself on a response that does not answer its request', async () => {
    const { conn } = await setup(() => ({ kind: 'read', entry: null }));
    const e = await conn.send(status).promise.catch((error: unknown) => error);
    expect((e as AttemptFailure).kind).toBe('protocol');
    expect(conn.destroyed).toBe(true);
    const after = await conn.send(status).promise.catch((error: unknown) => error);
    expect((after as AttemptFailure).sent).toBe(false);
  });

  it('fails every request when the server drops the connection', async () => {
    const { server, conn } = await setup(() => ({ action: 'ignore' }));
    const all = [conn.send(status).promise, conn.send({ group: 0, op: 'read', index: 1 } as ClientRequest & { op: 'read' }).promise];
    await server.received(2);
    server.dropAll();
    for (const p of all) {
      const e = await p.catch((error: unknown) => error);
      expect((e as AttemptFailure).kind).toBe('connection');
      expect((e as AttemptFailure).sent).toBe(true);
    }
  });
});
