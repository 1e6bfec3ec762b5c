/**
 * Exactly-once appends across a restart and a log reset (issue 14): the committed producer
 * base is saved in the file `producers` (docs/FORMAT.md "Producer table file") and sent with
 * a log start. Before, it lived in memory only: after a restart, or on a follower reset from
 * the leader's log start, a producer whose entries retention had removed was unknown, and a
 * retry of its first batch (sequence 0) was appended a second time.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Ledger } from '../../src/replica/ledger.js';
import { PRODUCER_FILE, decodeProducerBase, encodeProducerBase } from '../../src/replica/producer-file.js';
import { ProducerTable } from '../../src/replica/producer-table.js';
import { crc32c } from '../../src/storage/index.js';
import { ManualNet } from './manual-net.js';

let net: ManualNet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

const OPTIONS = { segmentSizeBytes: 64 * 1024, producerWindowEntries: 20, retention: { maxBytes: 128 * 1024, holdForFollowersMs: 0, checkIntervalMs: 20 } };

async function lead(n: ManualNet, id: string): Promise<Ledger> {
  const l = n.node(id);
  l.receive({ type: 'timeoutNow', from: id, to: id, term: l.term });
  await n.run(() => l.role === 'leader' && l.commitIndex === l.lastIndex, `${id} leads`);
  return l;
}

async function settle<T>(n: ManualNet, p: Promise<T>, what: string): Promise<T> {
  let out: { v: T } | undefined;
  void p.then((v) => (out = { v }));
  await n.run(() => out !== undefined, what);
  return out!.v;
}

/** Producer 7's first batch, then producer 8's entries until `node`'s retention removed it. */
async function firstBatchThenRetention(n: ManualNet, leader: Ledger, node: () => Ledger | undefined): Promise<number> {
  const [first] = await settle(n, leader.append([Buffer.from('first')], { producer: { producerId: 7, sequence: 0 } }), 'the first batch');
  const payload = Buffer.alloc(1000, 1);
  for (let s = 0; s < 400; s += 10) {
    await settle(n, leader.append(Array.from({ length: 10 }, () => payload), { producer: { producerId: 8, sequence: s } }), `producer 8 sequence ${s}`);
  }
  await n.run(() => (node()?.status().firstIndex ?? 0) > first!.index, 'retention removes the first batch');
  return first!.index;
}

async function retryIsRefused(n: ManualNet, leader: Ledger): Promise<void> {
  const lastBefore = leader.lastIndex;
  await expect(leader.append([Buffer.from('first')], { producer: { producerId: 7, sequence: 0 } })).rejects.toMatchObject({ code: 'ERR_SEQUENCE_CONFLICT' });
  expect(leader.lastIndex, 'nothing appended for the retry').toBe(lastBefore);
}

describe('the producer table across restarts and log resets', { timeout: 120_000 }, () => {
  it('after a restart of every replica, a retry of a first batch that retention removed is refused (never appended again)', async () => {
    const n = new ManualNet(3, OPTIONS);
    net = n;
    await n.startAll();
    const a = await lead(n, 'n0');
    await firstBatchThenRetention(n, a, () => n.nodes.get('n1'));
    await n.run(() => n.node('n1').commitIndex === a.lastIndex, 'n1 has everything');
    for (const id of n.ids) await n.stop(id);
    n.queue = [];
    await n.startAll();
    const b = await lead(n, 'n1');
    await retryIsRefused(n, b);
    const [next] = await settle(n, b.append([Buffer.from('second')], { producer: { producerId: 7, sequence: 1 } }), 'producer 7 sequence 1');
    expect(next!.index).toBe(b.lastIndex);
  });

  it('a follower reset from the leader\'s log start knows the removed producers when it leads, also after its own restart', async () => {
    const n = new ManualNet(3, OPTIONS);
    net = n;
    await n.startAll();
    const a = await lead(n, 'n0');
    await n.stop('n2');
    await firstBatchThenRetention(n, a, () => n.nodes.get('n0'));
    await n.start('n2');
    await n.run(() => n.node('n2').commitIndex === a.commitIndex && n.node('n2').status().firstIndex > 1, 'n2 is reset and catches up');
    expect(n.logs.some((l) => l.includes('[n2] log reset'))).toBe(true);
    const c = await lead(n, 'n2');
    await retryIsRefused(n, c);
    await n.stop('n2');
    n.queue = [];
    await n.start('n2');
    await n.run(() => n.node('n2').commitIndex === n.node('n2').lastIndex, 'n2 back');
    await retryIsRefused(n, await lead(n, 'n2'));
  });

  it('a damaged producer table file is ERR_LOG_CORRUPT at open; without the file the replica opens', async () => {
    const n = new ManualNet(1, { producerWindowEntries: 4 });
    net = n;
    await n.startAll();
    const a = await lead(n, 'n0');
    for (let s = 0; s < 12; s += 3) await settle(n, a.append([Buffer.from('x'), Buffer.from('y'), Buffer.from('z')], { producer: { producerId: 5, sequence: s } }), `sequence ${s}`);
    await n.stop('n0');
    const path = join(n.dirs.get('n0')!, PRODUCER_FILE);
    const good = readFileSync(path);
    expect(decodeProducerBase(good, path).table.runsOf(5)).toBeDefined();
    const bad = Buffer.from(good);
    bad[bad.byteLength - 3] = bad[bad.byteLength - 3]! ^ 0x10;
    writeFileSync(path, bad);
    await expect(n.start('n0')).rejects.toMatchObject({ code: 'ERR_LOG_CORRUPT', path });
    writeFileSync(path, good.subarray(0, 30));
    await expect(n.start('n0')).rejects.toMatchObject({ code: 'ERR_LOG_CORRUPT' });
    rmSync(path);
    const again = await n.start('n0');
    expect(again.closed).toBe(false);
  });
});

describe('producer table bytes', () => {
  it('round-trip in recency order, and every malformed form is ERR_LOG_CORRUPT', () => {
    const t = new ProducerTable(10);
    t.record({ producerId: 3, epoch: 1, sequence: 0 }, 2, 10, 1);
    t.record({ producerId: 2 ** 53 - 1, epoch: 0xffff_ffff, sequence: 0 }, 1, 12, 2);
    t.record({ producerId: 3, epoch: 1, sequence: 2 }, 4, 20, 2);
    const bytes = encodeProducerBase(t, 40);
    const back = decodeProducerBase(bytes, 'x');
    expect(back.upTo).toBe(40);
    expect([...back.table.entries()].map(([id]) => id)).toEqual([2 ** 53 - 1, 3]);
    expect(back.table.runsOf(3)).toEqual(t.runsOf(3));
    expect(encodeProducerBase(back.table, 40).equals(bytes)).toBe(true);
    expect(decodeProducerBase(bytes, 'x', 1).table.size).toBe(1);
    for (let i = 0; i < bytes.byteLength; i++) {
      const b = Buffer.from(bytes);
      b[i] = b[i]! ^ 1;
      expect(() => decodeProducerBase(b, 'x'), `byte ${i}`).toThrow(expect.objectContaining({ code: 'ERR_LOG_CORRUPT' }));
    }
    for (const cut of [0, 10, 23, 31, bytes.byteLength - 1]) {
      expect(() => decodeProducerBase(bytes.subarray(0, cut), 'x')).toThrow(expect.objectContaining({ code: 'ERR_LOG_CORRUPT' }));
    }
  });

  it('carry droppedUpTo (version 2); a smaller maxProducers drops producers and says so; a version 1 file reads with droppedUpTo 0', () => {
    const t = new ProducerTable(10);
    t.record({ producerId: 3, epoch: 1, sequence: 0 }, 2, 10, 1);
    t.record({ producerId: 4, epoch: 0, sequence: 0 }, 1, 12, 1);
    expect(decodeProducerBase(encodeProducerBase(t, 20), 'x').table.droppedUpTo).toBe(0);
    t.markDropped(7);
    const bytes = encodeProducerBase(t, 20);
    expect(bytes.readUInt32LE(4)).toBe(2);
    expect(decodeProducerBase(bytes, 'x').table.droppedUpTo).toBe(7);
    // Read into a table of one: producer 3 (used first) is dropped, and its last index is remembered.
    expect(decodeProducerBase(bytes, 'x', 1).table.droppedUpTo).toBe(11);
    // Version 1: the same without bytes 24..32, CRC over [0, 20) and [24, end).
    const v1 = Buffer.concat([bytes.subarray(0, 24), bytes.subarray(32)]);
    v1.writeUInt32LE(1, 4);
    v1.writeUInt32LE(crc32c(v1.subarray(24), crc32c(v1.subarray(0, 20))), 20);
    const old = decodeProducerBase(v1, 'x');
    expect(old.table.droppedUpTo).toBe(0);
    expect([...old.table.entries()].map(([id]) => id)).toEqual([3, 4]);
    expect(old.upTo).toBe(20);
  });
});
