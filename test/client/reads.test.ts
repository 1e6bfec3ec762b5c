/** The client's range reads against fake servers (issue 15): follower spreading, tail resumption and its checks of the server's answers. */
import { afterEach, describe, expect, it } from 'vitest';

import { connect, type Client } from '../../src/client/index.js';
import { isRaftLedgerError } from '../../src/errors.js';
import { errorReply, FakeLog, FakeServer, follower, leader, type Handler, type Reply } from './fake-server.js';

const servers: FakeServer[] = [];
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function client(options: { deadlineMs?: number } = {}): Promise<Client> {
  const c = await connect({ servers: servers.map((s) => s.address), idempotent: false, ...options });
  clients.push(c);
  return c;
}

function logOf(n: number): FakeLog {
  const log = new FakeLog();
  log.append(Array.from({ length: n }, (_, i) => Buffer.from(`p${i + 1}`)));
  return log;
}

describe('client.readRange', () => {
  it("'follower' reads go round robin over the servers and move on from one that refuses", async () => {
    const log = logOf(5);
    for (let i = 0; i < 3; i++) servers.push(await FakeServer.start(leader(log, `n${i}`)));
    const c = await client();
    await Promise.all(Array.from({ length: 6 }, () => c.readRange(1, { consistency: 'follower', maxLagMs: 100 })));
    for (const s of servers) {
      const reads = s.requests.filter((r) => r.op === 'readRange');
      expect(reads.length).toBe(2);
      expect(reads[0]).toMatchObject({ consistency: 'follower', maxLagMs: 100, includeSystem: false, waitMs: 0 });
    }
    servers[1]!.handler = () => errorReply('ERR_UNAVAILABLE', 'no leader heard', true);
    const answers = await Promise.all(Array.from({ length: 6 }, () => c.readRange(2, { consistency: 'follower' })));
    expect(answers.every((a) => a.length === 4 && a[0]!.payload.toString() === 'p2')).toBe(true);
  });

  it("'linearizable' goes to the leader a follower names", async () => {
    const log = logOf(3);
    const lead = await FakeServer.start(leader(log, 'n1'));
    servers.push(await FakeServer.start(follower('n0', 'n1', lead.address)), lead);
    const c = await client();
    expect((await c.readRange(1)).map((e) => e.payload.toString())).toEqual(['p1', 'p2', 'p3']);
    expect(lead.requests.some((r) => r.op === 'readRange')).toBe(true);
  });

  it('an answer out of order is ERR_PROTOCOL, not entries', async () => {
    const bad: Reply = { kind: 'entries', commitIndex: 9, next: 9, entries: [{ index: 5, term: 1, pos: 0, type: 'normal', payload: Buffer.from('x') }] };
    servers.push(await FakeServer.start((r) => (r.op === 'readRange' ? bad : { kind: 'status', status: {} })));
    const c = await client();
    const e = await c.readRange(1, { includeSystem: true }).catch((x: unknown) => x);
    expect(isRaftLedgerError(e, 'ERR_PROTOCOL')).toBe(true);
  });
});

describe('client.tail', () => {
  it('resumes after a dropped connection and a move to another server from the next index, without gaps or repeats', async () => {
    const log = logOf(30);
    let answered = 0;
    // Server A answers three small batches, then drops every connection; B serves the rest.
    const serveA: Handler = (r) => {
      if (r.op !== 'readRange') return { kind: 'status', status: {} };
      if (answered++ >= 3) return { action: 'drop' };
      return log.readRange(r.from, 4);
    };
    servers.push(await FakeServer.start(serveA), await FakeServer.start(leader(log, 'n1')));
    const c = await client();
    const ac = new AbortController();
    const seen: number[] = [];
    for await (const e of c.tail(1, { signal: ac.signal, pollMs: 50 })) {
      seen.push(e.index);
      if (seen.length === 30) ac.abort();
    }
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const fromB = servers[1]!.requests.filter((r) => r.op === 'readRange');
    expect(fromB[0]).toMatchObject({ from: 13, waitMs: 50 });
  });

  it('skips what the server says it left out (next past the entries) and never asks twice for it', async () => {
    const calls: number[] = [];
    servers.push(
      await FakeServer.start((r) => {
        if (r.op !== 'readRange') return { kind: 'status', status: {} };
        calls.push(r.from);
        if (r.from === 1) return { kind: 'entries', commitIndex: 4, next: 4, entries: [{ index: 2, term: 1, pos: 0, type: 'normal', payload: Buffer.from('a') }] };
        return { kind: 'entries', commitIndex: 4, next: r.from, entries: [] };
      }),
    );
    const c = await client();
    const ac = new AbortController();
    const seen: number[] = [];
    const consumer = (async () => {
      for await (const e of c.tail(1, { signal: ac.signal, pollMs: 20 })) seen.push(e.index);
    })();
    await servers[0]!.received(4);
    ac.abort();
    await consumer;
    expect(seen).toEqual([2]);
    expect(calls.slice(0, 3)).toEqual([1, 4, 4]);
  });

  it('rejects with a non-retriable server error, and ends quietly on abort', async () => {
    servers.push(await FakeServer.start((r) => (r.op === 'readRange' ? errorReply('ERR_COMPACTED', 'below the first index', false) : { kind: 'status', status: {} })));
    const c = await client();
    const it = c.tail(1);
    const e = await it.next().catch((x: unknown) => x);
    expect(isRaftLedgerError(e, 'ERR_COMPACTED')).toBe(true);
    const ac = new AbortController();
    ac.abort();
    expect((await c.tail(1, { signal: ac.signal }).next()).done).toBe(true);
  });
});
