/**
 * System entries (the leader's no-op of each term, configuration entries) are left out of
 * readRange and tail unless includeSystem (issue 15): on a Ledger and on a LedgerHost (workers).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryCluster } from '../support/memory-cluster.js';
import { appendVia, leaderOf, openNodes, waitForLeaders, type Nodes } from '../host/helpers.js';
import { take } from '../support/take.js';

let cluster: MemoryCluster | undefined;
let nodes: Nodes | undefined;
afterEach(async () => {
  await cluster?.close();
  await nodes?.close();
  cluster = undefined;
  nodes = undefined;
});

describe('includeSystem', () => {
  it('Ledger.readRange and tail give normal entries only, unless includeSystem', async () => {
    cluster = new MemoryCluster(1);
    await cluster.startAll();
    const ledger = await cluster.waitForLeader();
    const acks = await ledger.append([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')]);
    expect(ledger.read(1)!.type).toBe('noop');
    expect(ledger.readRange(1).map((e) => e.payload.toString())).toEqual(['a', 'b', 'c']);
    expect(ledger.readRange(1, { includeSystem: true }).map((e) => e.type)).toEqual(['noop', 'normal', 'normal', 'normal']);
    expect((await take(ledger.tail(1), 3)).map((e) => e.index)).toEqual(acks.map((a) => a.index));
    expect((await take(ledger.tail(1, { includeSystem: true }), 2)).map((e) => [e.index, e.type])).toEqual([[1, 'noop'], [2, 'normal']]);
    expect(() => ledger.readRange(1, { includeSystem: 1 as never })).toThrow(TypeError);
    expect(() => ledger.tail(1, { includeSystem: 'no' as never })).toThrow(TypeError);
  });

  it('LedgerHost.readRange and tail do the same through the worker protocol', async () => {
    nodes = await openNodes(1, 1, 'memory');
    await waitForLeaders(nodes, 1);
    const ack = await appendVia(nodes, 0, Buffer.from('x'));
    const host = nodes.hosts.get((await leaderOf(nodes, 0))!)!;
    expect((await host.readRange(0, 1)).map((e) => e.index)).toEqual([ack.index]);
    const all = await host.readRange(0, 1, { includeSystem: true });
    expect(all.length).toBe(ack.index);
    expect(all.filter((e) => e.type !== 'normal').length).toBeGreaterThanOrEqual(1);
    expect((await take(host.tail(0, 1), 1)).map((e) => e.index)).toEqual([ack.index]);
    expect((await take(host.tail(0, 1, { includeSystem: true }), 1)).map((e) => e.index)).toEqual([1]);
  });
});

describe('entryTypeName', () => {
  it('names the three entry types and refuses anything else', async () => {
    const { entryTypeName } = await import('../../src/index.js');
    expect([1, 2, 3].map((t) => entryTypeName(t as 1 | 2 | 3))).toEqual(['normal', 'noop', 'config']);
    expect(() => entryTypeName(0 as never)).toThrow(RangeError);
    expect(() => entryTypeName(4 as never)).toThrow(RangeError);
  });
});
