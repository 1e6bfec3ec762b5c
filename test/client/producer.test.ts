import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ClientProducer } from '../../src/client/producer.js';
import { Server } from '../../src/server/server.js';
import { validateConfig } from '../../src/server/config.js';
import { connect } from '../../src/client/index.js';
import { reserveNodeAddresses } from '../../src/tools/cluster/ports.js';
import { useTempDirs } from '../support/tmp.js';
import { FakeLog, FakeServer, leader } from './fake-server.js';
import type { ClientRequest } from '../../src/transport/client-codec.js';

const tempDir = useTempDirs();
const settled = async <T>(p: Promise<T>): Promise<boolean> => {
  let done = false;
  void p.then(() => (done = true), () => (done = true));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
};

describe('ClientProducer: the first batch of an epoch opens it', () => {
  it('stamps sequence 0 at once and later batches only after the first is acknowledged', async () => {
    const producer = new ClientProducer(async () => ({ producerId: 7, epoch: 0 }));
    const first = await producer.stamp(0, 2);
    expect(first).toEqual({ producerId: 7, epoch: 0, sequence: 0 });
    const second = producer.stamp(0, 1);
    const third = producer.stamp(0, 1);
    expect(await settled(second)).toBe(false);
    producer.succeeded(0, first);
    expect(await second).toEqual({ producerId: 7, epoch: 0, sequence: 2 });
    expect(await third).toEqual({ producerId: 7, epoch: 0, sequence: 3 });
    // Once open, batches are stamped without waiting; another group opens on its own.
    expect(await producer.stamp(0, 1)).toEqual({ producerId: 7, epoch: 0, sequence: 4 });
    expect(await producer.stamp(1, 1)).toEqual({ producerId: 7, epoch: 0, sequence: 0 });
    expect(await settled(producer.stamp(1, 1))).toBe(false);
  });

  it('a failed first batch moves to the next epoch, and one waiter opens it', async () => {
    const producer = new ClientProducer(async () => ({ producerId: 9, epoch: 3 }));
    const first = await producer.stamp(0, 1);
    const waiters = [producer.stamp(0, 1), producer.stamp(0, 1)];
    producer.failed(0, first);
    const opener = await waiters[0]!;
    expect(opener).toEqual({ producerId: 9, epoch: 4, sequence: 0 });
    expect(await settled(waiters[1]!)).toBe(false);
    producer.succeeded(0, opener);
    expect(await waiters[1]!).toEqual({ producerId: 9, epoch: 4, sequence: 1 });
  });
});

describe('exactly-once client: many appends issued before a leader is known', () => {
  it('128 concurrent appends right after connect all succeed once (a retry of a later sequence overtaking sequence 0 got ERR_UNKNOWN_PRODUCER)', async () => {
    const ids = ['n0', 'n1', 'n2'];
    const peers = await reserveNodeAddresses(ids);
    const root = tempDir();
    const servers: Server[] = [];
    try {
      for (const id of ids) {
        servers.push(await Server.start(validateConfig({ id, dir: join(root, id), peers, durability: 'memory', segmentSizeBytes: 1024 * 1024 }), { log: () => {} }));
      }
      const client = await connect({ servers: ids.map((id) => peers[id]!.client), deadlineMs: 30_000 });
      try {
        const acks = await Promise.all(Array.from({ length: 128 }, (_, i) => client.append(Buffer.from(`early ${i}`))));
        expect(new Set(acks.map((a) => a.index)).size).toBe(128);
      } finally {
        await client.close();
      }
    } finally {
      for (const s of servers) await s.close();
    }
  }, 60_000);
});

describe('exactly-once client: the retry mark (op 12)', () => {
  const producerOf = (r: ClientRequest): unknown => (r.op === 'append' ? r.producer : undefined);

  it('is set on resends after an unknown outcome (a dropped connection, ERR_TIMEOUT), and not on a first send or after a definite refusal', async () => {
    const log = new FakeLog();
    const ok = leader(log);
    const script: Array<'drop' | 'timeout' | 'busy' | 'ok'> = ['busy', 'ok', 'drop', 'ok', 'timeout', 'ok'];
    const server = await FakeServer.start((request, seen) => {
      if (request.op !== 'append') return ok(request, seen);
      const step = script.shift() ?? 'ok';
      if (step === 'drop') return { action: 'drop' };
      if (step === 'timeout') return { kind: 'error', error: { code: 'ERR_TIMEOUT', message: 'no verdict in time', retriable: true } };
      if (step === 'busy') return { kind: 'error', error: { code: 'ERR_UNAVAILABLE', message: 'busy, not appended', retriable: true } };
      return ok(request, seen);
    });
    const client = await connect({ servers: [server.address], deadlineMs: 30_000 });
    try {
      await client.append(Buffer.from('a')); // refused (not appended), then sent again: no mark
      await client.append(Buffer.from('b')); // connection dropped after it arrived: resent marked
      await client.append(Buffer.from('c')); // the server's ERR_TIMEOUT (may still commit): resent marked
    } finally {
      await client.close();
      await server.close();
    }
    const appends = server.seen.map((s) => s.request).filter((r) => r.op === 'append');
    expect(appends.map((r) => (r.op === 'append' ? String(r.payloads[0]) : ''))).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
    expect(appends.map((r) => (producerOf(r) as { retry?: boolean }).retry === true)).toEqual([false, false, false, true, false, true]);
    expect(appends.map((r) => (producerOf(r) as { sequence: number }).sequence)).toEqual([0, 0, 1, 1, 2, 2]);
  });
});
