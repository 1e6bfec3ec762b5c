import { afterEach, describe, expect, it } from 'vitest';

import { connect, type Client } from '../../src/client/index.js';
import type { RaftLedgerError } from '../../src/errors.js';
import type { ClientRequest } from '../../src/transport/client-codec.js';
import { deferred, errorReply, FakeLog, FakeServer, follower, leader, type Reply } from './fake-server.js';
import { rejection } from './rejection.js';

const servers: FakeServer[] = [];
const clients: Client[] = [];

async function start(handler?: Parameters<typeof FakeServer.start>[0]): Promise<FakeServer> {
  const s = await FakeServer.start(handler);
  servers.push(s);
  return s;
}

/**
 * These tests script the transport behaviour of appends, one request per append; the fake
 * servers speak no producer ops (idempotence: test/client/exactly-once.test.ts; appends sent
 * together: test/client/append-coalescer.test.ts).
 */
async function open(options: Parameters<typeof connect>[0]): Promise<Client> {
  const c = await connect({ idempotent: false, batchAppends: false, ...options });
  clients.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const bytes = (s: string): Buffer => Buffer.from(s);
const appends = (s: FakeServer): ClientRequest[] => s.requests.filter((r) => r.op === 'append');

describe('round trips', () => {
  it('appends, reads and reports status', async () => {
    const log = new FakeLog();
    const a = await start(leader(log, 'n1'));
    const client = await open({ servers: [a.address] });

    expect(await client.append(bytes('hello'))).toEqual({ index: 1, pos: 0 });
    expect(await client.appendBatch([bytes('b1'), bytes('b2')])).toEqual([
      { index: 2, pos: 100 },
      { index: 3, pos: 200 },
    ]);
    const entry = await client.read(2);
    expect(entry).toMatchObject({ index: 2, term: 3, pos: 100, type: 'normal' });
    expect(Buffer.isBuffer(entry!.payload)).toBe(true);
    expect(entry!.payload.toString()).toBe('b1');
    expect(await client.read(99)).toBeNull();

    const status = await client.status();
    expect(status).toMatchObject({ id: 'n1', leader: 'n1', lastIndex: 3, group: 0 });
    expect(client.leader).toBe(a.address);
    expect(log.entries.map(String)).toEqual(['hello', 'b1', 'b2']);
  });

  it('sends the group given per call or at connect', async () => {
    const log = new FakeLog();
    const a = await start(leader(log));
    const client = await open({ servers: [a.address], group: 7 });
    await client.append(bytes('x'));
    await client.read(1, { group: 9 });
    expect(a.requests.map((r) => r.group)).toEqual([7, 9]);
  });

  it('remembers the leader of each group: groups led by different servers are not redirected again and again', async () => {
    const logA = new FakeLog();
    const logB = new FakeLog();
    // Server a leads group 0 and redirects group 1 to b; b leads group 1 and redirects group 0 to a.
    let aAddress = '';
    let bAddress = '';
    const a = await start((request, seen) => (request.group === 0 ? leader(logA, 'n1')(request, seen) : follower('n1', 'n2', bAddress)(request, seen)));
    const b = await start((request, seen) => (request.group === 1 ? leader(logB, 'n2')(request, seen) : follower('n2', 'n1', aAddress)(request, seen)));
    aAddress = a.address;
    bAddress = b.address;
    const client = await open({ servers: [a.address, b.address] });
    for (let i = 0; i < 10; i++) {
      await client.append(bytes(`g0-${i}`), { group: 0 });
      await client.append(bytes(`g1-${i}`), { group: 1 });
    }
    expect(logA.entries.map(String)).toEqual(Array.from({ length: 10 }, (_, i) => `g0-${i}`));
    expect(logB.entries.map(String)).toEqual(Array.from({ length: 10 }, (_, i) => `g1-${i}`));
    // One redirect for group 1 (learned once), none for group 0.
    expect(appends(a).filter((r) => r.group === 1)).toHaveLength(1);
    expect(appends(b).filter((r) => r.group === 0)).toHaveLength(0);
    expect(client.leaderOf(0)).toBe(a.address);
    expect(client.leaderOf(1)).toBe(b.address);
    expect(client.leader).toBe(a.address);
  });

  it('ERR_MOVED: goes to the address given at once and remembers it for the group', async () => {
    const log = new FakeLog();
    const b = await start(leader(log, 'n1'));
    const a = await start((request) =>
      request.op === 'status'
        ? { kind: 'status', status: { id: 'n1', role: 'leader', leader: 'n1', group: request.group } }
        : { kind: 'error', error: { code: 'ERR_MOVED', message: 'served by a worker', retriable: true, leaderHint: { id: 'n1', address: b.address } } },
    );
    const client = await open({ servers: [a.address] });
    for (let i = 0; i < 5; i++) await client.append(bytes(`m${i}`));
    expect(log.entries.map(String)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(appends(a)).toHaveLength(1);
    expect(client.leaderOf(0)).toBe(b.address);
    expect((await client.status()) as object).toMatchObject({ id: 'n1' });
  });

  it('status of a named server, and of every server', async () => {
    const log = new FakeLog();
    const a = await start(leader(log, 'n1'));
    const b = await start(follower('n2', 'n1'));
    const gone = await FakeServer.start();
    await gone.close();
    const client = await open({ servers: [a.address, b.address, gone.address], requestTimeoutMs: 2000, deadlineMs: 4000 });

    expect(await client.status({ server: b.address })).toEqual({ id: 'n2', role: 'follower', leader: 'n1' });
    const all = await client.statusAll();
    expect(all.map((s) => s.server)).toEqual([a.address, b.address, gone.address]);
    expect(all[0]!.status).toMatchObject({ id: 'n1', leader: 'n1' });
    expect(all[1]!.status).toMatchObject({ id: 'n2', leader: 'n1' });
    expect(all[2]!.status).toBeUndefined();
    expect(all[2]!.error).toMatch(/ERR_UNAVAILABLE/);
  });
});

describe('pipelining', () => {
  it('many concurrent appends on one connection, answered out of order', async () => {
    const n = 200;
    const held: { request: ClientRequest; reply: (r: Reply) => void }[] = [];
    const all = deferred();
    const a = await start((request) => {
      const d = deferred<Reply>();
      held.push({ request, reply: d.resolve });
      if (held.length === n) all.resolve();
      return d.promise;
    });
    const client = await open({ servers: [a.address] });
    const results = Array.from({ length: n }, (_, i) => client.append(bytes(`p${i}`)));
    await all.promise;
    // Answer in reverse arrival order; each index encodes the payload it answers.
    for (const { request, reply } of held.reverse()) {
      if (request.op !== 'append') throw new Error('unexpected op');
      const i = Number(Buffer.from(request.payloads[0]!).toString().slice(1));
      reply({ kind: 'append', ok: [{ index: 1000 + i, pos: i }] });
    }
    const got = await Promise.all(results);
    expect(got).toEqual(Array.from({ length: n }, (_, i) => ({ index: 1000 + i, pos: i })));
    expect(a.connections).toBe(1);
    expect(new Set(a.requests.map((r) => r.id)).size).toBe(n);
  });
});

describe('leader discovery', () => {
  it('follows ERR_NOT_LEADER to the hinted address and stays there', async () => {
    const log = new FakeLog();
    const b = await start(leader(log, 'n2'));
    const a = await start(follower('n1', 'n2', b.address));
    // b is reachable only through the hint.
    const client = await open({ servers: [a.address] });

    expect(await client.append(bytes('one'))).toEqual({ index: 1, pos: 0 });
    expect(client.leader).toBe(b.address);
    expect(await client.append(bytes('two'))).toEqual({ index: 2, pos: 100 });
    expect(appends(a)).toHaveLength(1);
    expect(appends(b)).toHaveLength(2);
    expect(b.connections).toBe(1);
  });

  it('tries the next server when the hint has no address (round robin)', async () => {
    const log = new FakeLog();
    const a = await start(follower('n1', 'n3'));
    const b = await start(follower('n2', 'n3'));
    const c = await start(leader(log, 'n3'));
    const client = await open({ servers: [a.address, b.address, c.address] });

    expect(await client.append(bytes('x'))).toEqual({ index: 1, pos: 0 });
    expect(appends(a)).toHaveLength(1);
    expect(appends(b)).toHaveLength(1);
    expect(appends(c)).toHaveLength(1);
    expect(client.leader).toBe(c.address);
  });
});

describe('retries and errors', () => {
  it('retries a retriable error, then succeeds', async () => {
    const log = new FakeLog();
    let calls = 0;
    const ok = leader(log);
    const a = await start((request, seen) =>
      ++calls <= 2 ? errorReply('ERR_OVERLOADED', 'busy', true) : ok(request, seen),
    );
    const client = await open({ servers: [a.address] });
    expect(await client.append(bytes('x'))).toEqual({ index: 1, pos: 0 });
    expect(appends(a)).toHaveLength(3);
  });

  it('surfaces a non-retriable error with its code and message at once', async () => {
    const a = await start((request) =>
      request.op === 'append'
        ? errorReply('ERR_ENTRY_TOO_LARGE', 'entry of 9 bytes is too large', false)
        : errorReply('ERR_FROM_THE_FUTURE', 'a code this client does not know', false),
    );
    const client = await open({ servers: [a.address] });

    const e = await rejection(client.append(bytes('123456789')));
    expect(e.code).toBe('ERR_ENTRY_TOO_LARGE');
    expect(e.message).toBe('entry of 9 bytes is too large');
    expect(e.retriable).toBe(false);
    expect(appends(a)).toHaveLength(1);

    const f = await rejection(client.read(1));
    // An unknown code maps to ERR_INTERNAL (the union is closed), keeping the original in the message.
    expect(f.code).toBe('ERR_INTERNAL');
    expect(f.message).toBe('ERR_FROM_THE_FUTURE: a code this client does not know');
    expect(f.retriable).toBe(false);
    expect(a.requests.filter((r) => r.op === 'read')).toHaveLength(1);
  });

  it('retries requests of a dropped connection on another server', async () => {
    const log = new FakeLog();
    const a = await start(() => ({ action: 'ignore' }));
    const b = await start(leader(log, 'n2'));
    const client = await open({ servers: [a.address, b.address] });

    const pending = [1, 2, 3, 4, 5].map((i) => client.append(bytes(`m${i}`)));
    await a.received(5);
    a.dropAll();
    const got = await Promise.all(pending);
    expect(got.map((r) => r.index).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(log.entries.map(String).sort()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(appends(a)).toHaveLength(5);
    expect(client.leader).toBe(b.address);
  });

  it('rejects with ERR_TIMEOUT at the deadline, saying an append outcome is unknown', async () => {
    const a = await start(() => ({ action: 'ignore' }));
    const client = await open({ servers: [a.address], requestTimeoutMs: 40, deadlineMs: 300 });

    const e = await rejection(client.append(bytes('x')));
    expect(e.code).toBe('ERR_TIMEOUT');
    expect(e.message).toMatch(/outcome is unknown/);
    expect(appends(a).length).toBeGreaterThanOrEqual(1);

    const r = await rejection(client.read(1));
    expect(r.code).toBe('ERR_TIMEOUT');
    expect(r.message).not.toMatch(/unknown/);
  });

  it('an append refused or never written times out without "unknown"', async () => {
    const a = await start(follower('n1', 'n9'));
    const gone = await FakeServer.start();
    await gone.close(); // refuses connections
    const client = await open({ servers: [a.address, gone.address], requestTimeoutMs: 200, deadlineMs: 300 });
    const e = await rejection(client.append(bytes('x')));
    expect(e.code).toBe('ERR_TIMEOUT');
    expect(e.message).not.toMatch(/unknown/);
    expect(['ERR_UNAVAILABLE', 'ERR_NOT_LEADER']).toContain((e.cause as RaftLedgerError).code);
    expect(appends(a).length).toBeGreaterThanOrEqual(1);
  });

  it('replaces a connection that sent a malformed frame', async () => {
    const log = new FakeLog();
    const ok = leader(log);
    let calls = 0;
    const bad = Buffer.from([5, 0, 0, 0, 9 /* version */, 17, 0, 0, 0]);
    const a = await start((request, seen) => (++calls === 1 ? { action: 'raw', bytes: bad } : ok(request, seen)));
    const client = await open({ servers: [a.address] });

    expect(await client.append(bytes('x'))).toEqual({ index: 1, pos: 0 });
    expect(a.connections).toBe(2);
    expect(a.seen.map((s) => s.connection)).toEqual([0, 1]);
  });

  it('treats a response of the wrong kind as malformed', async () => {
    const log = new FakeLog();
    const ok = leader(log);
    let calls = 0;
    const a = await start((request, seen) => (++calls === 1 ? { kind: 'status', status: {} } : ok(request, seen)));
    const client = await open({ servers: [a.address] });
    expect(await client.append(bytes('x'))).toEqual({ index: 1, pos: 0 });
    expect(a.connections).toBe(2);
  });
});

describe('abort and close', () => {
  it('aborts an operation in flight and before it starts', async () => {
    const a = await start((request) => (request.op === 'append' ? { action: 'ignore' } : { kind: 'status', status: { ok: 1 } }));
    const client = await open({ servers: [a.address] });

    const ac = new AbortController();
    const p = client.append(bytes('x'), { signal: ac.signal });
    await a.received(1);
    const reason = new Error('user gave up');
    ac.abort(reason);
    const e = await rejection(p);
    expect(e.code).toBe('ERR_ABORTED');
    expect(e.cause).toBe(reason);
    expect(e.message).toMatch(/outcome is unknown/);

    const early = await rejection(client.append(bytes('y'), { signal: AbortSignal.abort() }));
    expect(early.code).toBe('ERR_ABORTED');
    expect(await client.status()).toEqual({ ok: 1 });
    expect(a.requests.map((r) => r.op)).toEqual(['append', 'status']);
  });

  it('close() rejects in-flight operations with ERR_CLOSED, is idempotent, and leaves nothing running', async () => {
    const handles = (): number =>
      process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout' || r === 'Immediate').length;
    const before = handles();
    const a = await FakeServer.start(() => ({ action: 'ignore' }));
    const client = await connect({ servers: [a.address], idempotent: false });

    const p = client.append(bytes('x'));
    const q = client.read(1);
    await a.received(2);
    const closing = client.close();
    expect(client.close()).toBe(closing);
    expect((await rejection(p)).code).toBe('ERR_CLOSED');
    expect((await rejection(q)).code).toBe('ERR_CLOSED');
    await closing;
    await client.close();
    expect((await rejection(client.append(bytes('y')))).code).toBe('ERR_CLOSED');
    expect((await rejection(client.status())).code).toBe('ERR_CLOSED');

    await a.close();
    await new Promise((r) => setImmediate(r));
    expect(handles()).toBe(before);
  });

  it('supports await using', async () => {
    const a = await start(leader(new FakeLog()));
    let seen: Client | undefined;
    {
      await using client = await connect({ servers: [a.address] });
      seen = client;
      await client.append(bytes('x'));
    }
    expect(seen.closed).toBe(true);
  });
});

describe('connect', () => {
  it('skips unreachable servers', async () => {
    const gone = await FakeServer.start();
    await gone.close();
    const a = await start(leader(new FakeLog(), 'n1'));
    const client = await open({ servers: [gone.address, a.address] });
    expect(await client.status()).toMatchObject({ id: 'n1' });
  });

  it('fails with ERR_UNAVAILABLE when no server is reachable by the deadline', async () => {
    const gone = await FakeServer.start();
    await gone.close();
    const e = await rejection(connect({ servers: [gone.address], deadlineMs: 100 }));
    expect(e.code).toBe('ERR_UNAVAILABLE');
  });
});

describe('bad arguments', () => {
  it('throws TypeError / RangeError', async () => {
    await expect(connect({ servers: [] })).rejects.toThrow(RangeError);
    await expect(connect({ servers: ['nope'] })).rejects.toThrow(TypeError);
    await expect(connect({ servers: ['host:99999'] })).rejects.toThrow(TypeError);
    await expect(connect({ servers: 'a:1' as unknown as string[] })).rejects.toThrow(TypeError);
    await expect(connect({ servers: ['a:1'], deadlineMs: -1 })).rejects.toThrow(RangeError);
    await expect(connect({ servers: ['a:1'], maxInFlight: 0 })).rejects.toThrow(RangeError);
    await expect(connect({ servers: ['a:1'], group: -1 })).rejects.toThrow(RangeError);

    const a = await start(leader(new FakeLog()));
    const client = await open({ servers: [a.address] });
    await expect(client.append('text' as unknown as Uint8Array)).rejects.toThrow(TypeError);
    await expect(client.appendBatch([])).rejects.toThrow(RangeError);
    await expect(client.appendBatch([bytes('a'), 5 as unknown as Uint8Array])).rejects.toThrow(TypeError);
    await expect(client.read(0)).rejects.toThrow(RangeError);
    await expect(client.read(1.5)).rejects.toThrow(RangeError);
    await expect(client.read('1' as unknown as number)).rejects.toThrow(TypeError);
    await expect(client.append(bytes('a'), { group: 2 ** 32 })).rejects.toThrow(RangeError);
    await expect(client.append(bytes('a'), { signal: {} as AbortSignal })).rejects.toThrow(TypeError);
    await expect(client.status({ server: 'x' })).rejects.toThrow(TypeError);
    expect(a.requests).toHaveLength(0);
  });
});
