/**
 * Range reads over the client protocol (op/kind 21; server/read-requests.ts, client/reads.ts)
 * against a real one-node Ledger behind a ClientListener: readRange, system entries, bad
 * input, tail's long poll and its release, and the flow control that bounds what the server
 * holds for a consumer that does not read its socket.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Client } from '../../src/client/index.js';
import { isRaftLedgerError } from '../../src/errors.js';
import type { Ledger } from '../../src/replica/ledger.js';
import { ClientListener, ledgerMapRouter } from '../../src/server/client-listener.js';
import { ledgerReadRange, MAX_RANGE_BYTES, newReadStats, READ_BACKLOG_BYTES, ReadFlow } from '../../src/server/read-requests.js';
import { decodeClientResponseFrame, encodeClientRequest } from '../../src/transport/client-codec.js';
import { FrameReader } from '../../src/transport/frame.js';
import { MemoryCluster } from '../support/memory-cluster.js';

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

interface Setup {
  ledger: Ledger;
  listener: ClientListener;
  port: number;
  serverSockets: net.Socket[];
  client: Client;
}

async function setup(): Promise<Setup> {
  const cluster = new MemoryCluster(1);
  cleanup.push(() => cluster.close());
  await cluster.startAll();
  const ledger = await cluster.waitForLeader();
  const serverSockets: net.Socket[] = [];
  const listener = new ClientListener({
    host: '127.0.0.1',
    port: 0,
    router: ledgerMapRouter((g) => (g === 0 ? ledger : undefined)),
    log: () => {},
    createServer: (onConnection) =>
      net.createServer((socket) => {
        serverSockets.push(socket);
        onConnection(socket);
      }),
  });
  const port = await listener.listen();
  cleanup.push(() => listener.close());
  const client = await connect({ servers: [`127.0.0.1:${port}`], idempotent: false });
  cleanup.push(() => client.close());
  return { ledger, listener, port, serverSockets, client };
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('readRange over the network', () => {
  it('answers committed entries in order, leaves system entries out unless asked, and agrees with read()', async () => {
    const { ledger, client } = await setup();
    const acks = await client.appendBatch(Array.from({ length: 40 }, (_, i) => Buffer.from(`e-${i}`)));
    const first = acks[0]!.index;
    expect(ledger.read(1)!.type).toBe('noop'); // the leader's no-op

    const all = await client.readRange(1);
    expect(all.map((e) => e.index)).toEqual(acks.map((a) => a.index));
    expect(all.every((e) => e.type === 'normal')).toBe(true);
    expect(all[0]!.payload.toString()).toBe('e-0');
    const withSystem = await client.readRange(1, { includeSystem: true });
    expect(withSystem.map((e) => e.index)).toEqual(Array.from({ length: acks.at(-1)!.index }, (_, i) => i + 1));
    expect(withSystem[0]!.type).toBe('noop');
    // Only a no-op in the first `limit` entries: the server reads on rather than answer empty.
    expect((await client.readRange(1, { limit: 1 })).map((e) => e.index)).toEqual([first]);

    for (const e of all.slice(0, 5)) {
      const one = ledger.read(e.index)!;
      expect({ ...e, payload: e.payload.toString() }).toEqual({ ...one, payload: one.payload.toString() });
    }
    expect((await client.readRange(first, { limit: 7 })).map((e) => e.index)).toEqual(Array.from({ length: 7 }, (_, i) => first + i));
    expect(await client.readRange(first, { maxBytes: 1 })).toHaveLength(1); // at least one entry
    expect(await client.readRange(acks.at(-1)!.index + 1000)).toEqual([]);
    for (const consistency of ['lease', 'follower'] as const) {
      expect((await client.readRange(first, { consistency })).length).toBe(40);
    }
  });

  it('refuses bad arguments before sending, and keeps serving', async () => {
    const { client } = await setup();
    await expect(client.readRange(-1)).rejects.toThrow(RangeError);
    await expect(client.readRange(0)).rejects.toThrow(RangeError);
    await expect(client.readRange(1.5)).rejects.toThrow(RangeError);
    await expect(client.readRange('1' as never)).rejects.toThrow(TypeError);
    await expect(client.readRange(1, { limit: 0 })).rejects.toThrow(RangeError);
    await expect(client.readRange(1, { maxBytes: -3 })).rejects.toThrow(RangeError);
    await expect(client.readRange(1, { consistency: 'eventual' as never })).rejects.toThrow(RangeError);
    await expect(client.readRange(1, { includeSystem: 'yes' as never })).rejects.toThrow(TypeError);
    expect(() => client.tail(0)).toThrow(RangeError);
    expect(() => client.tail(1, { pollMs: 0 })).toThrow(RangeError);
    expect(() => client.tail(1, { consistency: 'strong' as never })).toThrow(RangeError);
    const e = await client.readRange(1, { group: 9 }).catch((x: unknown) => x);
    expect(isRaftLedgerError(e, 'ERR_BAD_CONFIG')).toBe(true);
    await client.append(Buffer.from('still here'));
    expect((await client.readRange(1)).map((x) => x.payload.toString())).toEqual(['still here']);
  });
});

describe('tail over the network', () => {
  it('delivers every entry once, in order, waiting for new ones; an abort ends it and the server lets its poll go', async () => {
    const { client, listener } = await setup();
    const ac = new AbortController();
    const seen: string[] = [];
    const consumer = (async () => {
      for await (const e of client.tail(1, { signal: ac.signal, pollMs: 20_000 })) seen.push(e.payload.toString());
    })();
    const sent: string[] = [];
    for (let b = 0; b < 20; b++) {
      const payloads = Array.from({ length: 25 }, (_, i) => `t-${b}-${i}`);
      sent.push(...payloads);
      await client.appendBatch(payloads.map((p) => Buffer.from(p)));
    }
    await waitUntil(() => seen.length >= sent.length, 'the consumer to catch up');
    await waitUntil(() => listener.stats().readsWaitingForCommit === 1, 'the tail to wait on the server');
    ac.abort();
    await consumer;
    expect(seen).toEqual(sent);
    // The abandoned 20 s poll stays on the server only while its connection is open.
    expect(listener.stats().readsWaitingForCommit).toBe(1);
    await client.close();
    await waitUntil(() => listener.stats().readsWaitingForCommit === 0, 'the server to drop the poll of a closed connection', 5000);
  });

  it('a replica that closes under a waiting poll answers the retriable ERR_UNAVAILABLE, not ERR_CLOSED', async () => {
    const { ledger, client } = await setup();
    await client.append(Buffer.from('x'));
    const stats = newReadStats();
    const read = { from: ledger.commitIndex + 1, limit: 10, maxBytes: 1024, waitMs: 300, consistency: 'follower' as const, maxLagMs: 0, includeSystem: false };
    const pending = ledgerReadRange(ledger, read, new ReadFlow(() => 0), stats).catch((e: unknown) => e);
    await waitUntil(() => stats.readsWaitingForCommit === 1, 'the poll to wait');
    await ledger.close();
    const e = await pending;
    expect(isRaftLedgerError(e, 'ERR_UNAVAILABLE')).toBe(true);
    expect((e as { retriable: boolean }).retriable).toBe(true);
    expect(stats.readsWaitingForCommit).toBe(0);
  });

  it('a tail that is not pulled sends no more polls, and the server holds nothing for it', async () => {
    const { client, listener, ledger } = await setup();
    await client.append(Buffer.from('first'));
    const it = client.tail(1, { maxBatchBytes: 4096 });
    expect((await it.next()).value?.payload.toString()).toBe('first');
    for (let b = 0; b < 20; b++) await client.appendBatch(Array.from({ length: 50 }, () => Buffer.alloc(1000, b)));
    await waitUntil(() => ledger.commitIndex >= 1002, 'the appends to commit');
    const stats = listener.stats();
    expect(stats.readsWaitingForCommit).toBe(0);
    expect(stats.readsWaitingForRoom).toBe(0);
    // Then it goes on where it stopped, in batches of about maxBatchBytes.
    let n = 0;
    for await (const e of it) {
      expect(e.index).toBe(3 + n);
      if (++n === 1000) break;
    }
    expect(listener.stats().peakReadBacklogBytes).toBeLessThan(READ_BACKLOG_BYTES);
  });
});

describe('flow control', () => {
  it('a connection that does not read its answers makes the server hold at most its read backlog, not one answer per request', async () => {
    const { client, listener, port, serverSockets } = await setup();
    for (let b = 0; b < 8; b++) await client.appendBatch(Array.from({ length: 64 }, () => Buffer.alloc(4096, b)));
    const REQUESTS = 64;
    const raw = net.connect(port, '127.0.0.1');
    cleanup.push(async () => void raw.destroy());
    await new Promise<void>((resolve) => raw.once('connect', resolve));
    raw.pause(); // a consumer that stops reading
    const frames = Array.from({ length: REQUESTS }, (_, i) =>
      encodeClientRequest({ id: i + 1, group: 0, op: 'readRange', from: 1, limit: 10_000, maxBytes: 1024 * 1024, waitMs: 0, consistency: 'linearizable', maxLagMs: 0, includeSystem: false }),
    );
    raw.write(Buffer.concat(frames));
    // Without flow control every request is answered into the socket's buffer (64 MiB).
    await waitUntil(() => listener.stats().readsWaitingForRoom >= REQUESTS / 2, 'reads to wait for room');
    const server = serverSockets.at(-1)!;
    expect(server.writableLength).toBeLessThanOrEqual(READ_BACKLOG_BYTES + MAX_RANGE_BYTES);
    expect(listener.stats().peakReadBacklogBytes).toBeLessThanOrEqual(READ_BACKLOG_BYTES);

    // Once it reads again, every request is answered in full.
    const reader = new FrameReader();
    const answered = new Set<number>();
    let bytes = 0;
    raw.on('data', (chunk: Buffer) => {
      for (const f of reader.frames(chunk)) {
        const r = decodeClientResponseFrame(f);
        if (r.kind !== 'entries') throw new Error(`unexpected ${r.kind}`);
        answered.add(r.id);
        bytes += r.entries.length;
      }
    });
    raw.resume();
    await waitUntil(() => answered.size === REQUESTS, 'every answer', 20_000);
    expect(bytes).toBeGreaterThanOrEqual(REQUESTS * 200);
    expect(listener.stats().readsWaitingForRoom).toBe(0);
  });
});
