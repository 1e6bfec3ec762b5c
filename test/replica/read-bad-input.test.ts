/**
 * Bad input for the in-process reads (issue 15): readRange and tail on a Ledger and on a
 * LedgerHost with `from` beyond the end, negative, zero, non-integer or not a number, and an
 * unknown consistency for commitPosition; an aborted tail leaves no commit waiter behind
 * (ledger-reads.ts tailEntries, with a scripted source).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../src/entry.js';
import { tailEntries, type TailSource } from '../../src/replica/ledger-reads.js';
import { MemoryCluster } from '../support/memory-cluster.js';
import { appendVia, leaderOf, openNodes, waitForLeaders, type Nodes } from '../host/helpers.js';

let cluster: MemoryCluster | undefined;
let nodes: Nodes | undefined;
afterEach(async () => {
  await cluster?.close();
  await nodes?.close();
  cluster = undefined;
  nodes = undefined;
});

const BAD_FROM: Array<[unknown, ErrorConstructor]> = [
  [-1, RangeError],
  [0, RangeError],
  [1.5, RangeError],
  [Number.NaN, RangeError],
  [2 ** 53, RangeError],
  ['1', TypeError],
];

describe('in-process reads refuse bad input', () => {
  it('Ledger: readRange and tail check from at the call; from beyond the end is [] or waits', async () => {
    cluster = new MemoryCluster(1);
    await cluster.startAll();
    const ledger = await cluster.waitForLeader();
    const [ack] = await ledger.append([Buffer.from('a')]);
    for (const [from, type] of BAD_FROM) {
      expect(() => ledger.readRange(from as number), `readRange(${String(from)})`).toThrow(type);
      expect(() => ledger.tail(from as number), `tail(${String(from)})`).toThrow(type);
    }
    expect(() => ledger.read(-1)).toThrow(RangeError);
    expect(ledger.readRange(ack!.index + 1000)).toEqual([]);
    await expect(ledger.commitPosition({ consistency: 'eventual' as never })).rejects.toThrow(RangeError);
    await expect(ledger.commitPosition({ consistency: 'follower', maxLagMs: 0 })).rejects.toThrow(RangeError);

    // A tail from beyond the end waits, then starts exactly at `from`.
    const from = ack!.index + 3;
    const ac = new AbortController();
    const got: number[] = [];
    const consumer = (async () => {
      for await (const e of ledger.tail(from, { signal: ac.signal })) {
        got.push(e.index);
        if (got.length === 2) break;
      }
    })();
    for (let i = 0; i < 4; i++) await ledger.append(Buffer.from(`b${i}`));
    await consumer;
    expect(got).toEqual([from, from + 1]);
  });

  it('LedgerHost: readRange and tail refuse a bad from with a RangeError/TypeError; beyond the end is []', async () => {
    nodes = await openNodes(1, 1, 'memory');
    await waitForLeaders(nodes, 1);
    const ack = await appendVia(nodes, 0, Buffer.from('x'));
    const host = nodes.hosts.get((await leaderOf(nodes, 0))!)!;
    for (const [from, type] of BAD_FROM) {
      await expect(host.readRange(0, from as number), `readRange(${String(from)})`).rejects.toThrow(type);
      await expect(host.tail(0, from as number).next(), `tail(${String(from)})`).rejects.toThrow(type);
    }
    expect(await host.readRange(0, ack.index + 1000)).toEqual([]);
    await expect(host.commitPosition(0, { consistency: 'strong' as never })).rejects.toThrow(RangeError);
    // The host still serves after the refusals.
    expect((await host.readRange(0, 1)).map((e) => e.index)).toEqual([ack.index]);
  });
});

describe('an aborted tail releases what it waits with', () => {
  it('tailEntries takes its commit waiter back when the signal aborts on an idle ledger', async () => {
    const waiters = new Set<() => void>();
    const source: TailSource = {
      closed: () => false,
      failed: () => undefined,
      commitIndex: () => 0,
      readRange: (): LedgerEntry[] => [],
      waitForCommit: (wake) => {
        waiters.add(wake);
        return () => waiters.delete(wake);
      },
    };
    for (let i = 0; i < 50; i++) {
      const ac = new AbortController();
      const it = tailEntries(source, 1, { signal: ac.signal });
      const next = it.next();
      await new Promise((r) => setImmediate(r));
      expect(waiters.size).toBe(1);
      ac.abort();
      expect((await next).done).toBe(true);
    }
    expect(waiters.size).toBe(0);
  });
});
