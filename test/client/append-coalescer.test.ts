import { afterEach, describe, expect, it } from 'vitest';

import { AppendCoalescer, type AppendResult } from '../../src/client/append-coalescer.js';
import { connect, type Client } from '../../src/client/index.js';
import { RaftLedgerError } from '../../src/errors.js';
import { deferred, errorReply, FakeLog, FakeServer, leader } from './fake-server.js';

const bytes = (s: string): Buffer => Buffer.from(s);
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A send() that records each request and answers when told to. */
function recorder() {
  const sent: { group: number; payloads: string[]; answer: (r: AppendResult[] | Error) => void }[] = [];
  let next = 1;
  const send = (group: number, payloads: Uint8Array[]): Promise<AppendResult[]> => {
    const d = deferred<AppendResult[] | Error>();
    sent.push({ group, payloads: payloads.map((p) => Buffer.from(p).toString()), answer: d.resolve });
    return d.promise.then((r) => {
      if (r instanceof Error) throw r;
      return r;
    });
  };
  /** Answer request k with consecutive indexes. */
  const ok = (k: number): void => {
    const r = sent[k]!;
    r.answer(r.payloads.map(() => ({ index: next, pos: next++ * 10 })));
  };
  return { sent, send, ok };
}

describe('AppendCoalescer', () => {
  it('sends an append alone when nothing is in flight, and the appends of one turn behind it as one request in call order', async () => {
    const r = recorder();
    const c = new AppendCoalescer({ send: r.send });
    const first = c.append(0, bytes('a'));
    expect(r.sent.map((s) => s.payloads)).toEqual([['a']]);
    const rest = ['b', 'c', 'd'].map((p) => c.append(0, bytes(p)));
    expect(r.sent).toHaveLength(1); // collecting until the turn ends
    await turn();
    expect(r.sent.map((s) => s.payloads)).toEqual([['a'], ['b', 'c', 'd']]);
    r.ok(1);
    r.ok(0);
    expect(await Promise.all(rest)).toEqual([
      { index: 1, pos: 10 },
      { index: 2, pos: 20 },
      { index: 3, pos: 30 },
    ]);
    expect(await first).toEqual({ index: 4, pos: 40 });
    expect(c.requests).toBe(2);
  });

  it('keeps one batch per group', async () => {
    const r = recorder();
    const c = new AppendCoalescer({ send: r.send });
    void c.append(0, bytes('x'));
    void c.append(1, bytes('g1a'));
    void c.append(2, bytes('g2a'));
    void c.append(1, bytes('g1b'));
    await turn();
    expect(r.sent.map((s) => [s.group, s.payloads])).toEqual([
      [0, ['x']],
      [1, ['g1a', 'g1b']],
      [2, ['g2a']],
    ]);
  });

  it('closes a batch at maxBatchPayloads and maxBatchBytes, and sends large payloads alone', async () => {
    const r = recorder();
    const c = new AppendCoalescer({ send: r.send, maxBatchPayloads: 2, maxBatchBytes: 5, maxCoalescedPayloadBytes: 3 });
    void c.append(0, bytes('0'));
    for (const p of ['a', 'b', 'c', 'dd', 'eee', 'ffff', 'g']) void c.append(0, bytes(p));
    await turn();
    expect(r.sent.map((s) => s.payloads)).toEqual([['0'], ['a', 'b'], ['c', 'dd'], ['ffff'], ['eee', 'g']]);
  });

  it('rejects every append of a failed batch with its error', async () => {
    const r = recorder();
    const c = new AppendCoalescer({ send: r.send });
    void c.append(0, bytes('0'));
    const batch = ['a', 'b'].map((p) => c.append(0, bytes(p)).catch((e: unknown) => e));
    await turn();
    r.sent[1]!.answer(new RaftLedgerError('ERR_NO_SPACE', 'full'));
    const errors = (await Promise.all(batch)) as RaftLedgerError[];
    expect(errors.map((e) => e.code)).toEqual(['ERR_NO_SPACE', 'ERR_NO_SPACE']);
    expect(r.sent).toHaveLength(2); // not retried
  });

  it('sends the appends of a batch refused for one payload (ERR_ENTRY_TOO_LARGE) again alone, each with its own verdict', async () => {
    const r = recorder();
    const c = new AppendCoalescer({ send: r.send });
    void c.append(0, bytes('0'));
    const batch = ['ok', 'huge', 'ok2'].map((p) => c.append(0, bytes(p)).catch((e: unknown) => e));
    await turn();
    r.sent[1]!.answer(new RaftLedgerError('ERR_ENTRY_TOO_LARGE', 'too large'));
    await turn();
    expect(r.sent.slice(2).map((s) => s.payloads)).toEqual([['ok'], ['huge'], ['ok2']]);
    r.ok(2);
    r.sent[3]!.answer(new RaftLedgerError('ERR_ENTRY_TOO_LARGE', 'too large'));
    r.ok(4);
    const got = await Promise.all(batch);
    expect(got[0]).toEqual({ index: 1, pos: 10 });
    expect((got[1] as RaftLedgerError).code).toBe('ERR_ENTRY_TOO_LARGE');
    expect(got[2]).toEqual({ index: 2, pos: 20 });
  });

  it('a send that throws synchronously rejects its appends and frees the slot', async () => {
    const c = new AppendCoalescer({
      send: () => {
        throw new TypeError('boom');
      },
    });
    await expect(c.append(0, bytes('a'))).rejects.toThrow('boom');
    const r = recorder();
    const d = new AppendCoalescer({ send: r.send });
    void d.append(0, bytes('a'));
    expect(r.sent).toHaveLength(1);
  });
});

describe('Client with batchAppends (default)', () => {
  const servers: FakeServer[] = [];
  const clients: Client[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('carries concurrent appends in few requests; every append gets its own index; batchAppends: false sends one request each', async () => {
    const log = new FakeLog();
    const a = await FakeServer.start(leader(log));
    servers.push(a);
    const n = 64;
    const batched = await connect({ servers: [a.address], idempotent: false });
    clients.push(batched);
    const got = await Promise.all(Array.from({ length: n }, (_, i) => batched.append(bytes(`p${i}`))));
    const appendRequests = a.requests.filter((r) => r.op === 'append');
    expect(appendRequests.length).toBe(2); // one alone, the other 63 of the same turn together
    expect(log.entries.map(String)).toEqual(Array.from({ length: n }, (_, i) => `p${i}`));
    // Each caller's index is the one its payload was stored at.
    got.forEach((r, i) => expect(String(log.entries[r.index - 1])).toBe(`p${i}`));

    const single = await connect({ servers: [a.address], idempotent: false, batchAppends: false });
    clients.push(single);
    const before = a.requests.length;
    await Promise.all(Array.from({ length: 8 }, (_, i) => single.append(bytes(`s${i}`))));
    expect(a.requests.length - before).toBe(8);
  });

  it('an append with its own signal is not held for a batch', async () => {
    const log = new FakeLog();
    const gate = deferred();
    let first = true;
    const ok = leader(log);
    const a = await FakeServer.start(async (request, seen) => {
      if (first && request.op === 'append') {
        first = false;
        await gate.promise;
      }
      return ok(request, seen);
    });
    servers.push(a);
    const client = await connect({ servers: [a.address], idempotent: false });
    clients.push(client);
    const held = client.append(bytes('first'));
    await a.received(1);
    const signalled = client.append(bytes('mine'), { signal: new AbortController().signal });
    await a.received(2);
    expect(a.requests.filter((r) => r.op === 'append').map((r) => (r.op === 'append' ? r.payloads.length : 0))).toEqual([1, 1]);
    gate.resolve();
    await Promise.all([held, signalled]);
  });

  it('rejects the appends of a refused batch with the server error', async () => {
    const log = new FakeLog();
    const ok = leader(log);
    let appends = 0;
    const a = await FakeServer.start((request, seen) =>
      request.op === 'append' && appends++ === 1 ? errorReply('ERR_NO_SPACE', 'disk full', false) : ok(request, seen),
    );
    servers.push(a);
    const client = await connect({ servers: [a.address], idempotent: false });
    clients.push(client);
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => client.append(bytes(`p${i}`))));
    expect(results[0]!.status).toBe('fulfilled');
    for (const r of results.slice(1)) {
      expect(r.status).toBe('rejected');
      expect(((r as PromiseRejectedResult).reason as RaftLedgerError).code).toBe('ERR_NO_SPACE');
    }
  });
});
