/**
 * Issue 11 items 8 and 9 on the embedding API: readRange/tail check their arguments at the
 * call, LedgerHost.open and Ledger.open take the same peer forms as the server, and the
 * `leader` event's '' (documented in the README) marks an election under way.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/replica/ledger.js';
import { LedgerHost } from '../../src/host/ledger-host.js';
import { reserveNodePorts } from '../../src/tools/cluster/ports.js';
import { MemoryCluster } from '../support/memory-cluster.js';
import { useTempDirs } from '../support/tmp.js';

const tempDir = useTempDirs('raftledger-api-');
const clusters: MemoryCluster[] = [];

afterEach(async () => {
  for (const c of clusters.splice(0)) await c.close();
});

/** A one-node ledger holding one appended entry (after the leader's no-op) at `index`. */
async function solo(): Promise<{ ledger: Ledger; index: number }> {
  const cluster = new MemoryCluster(1);
  clusters.push(cluster);
  await cluster.startAll();
  const ledger = await cluster.waitForLeader();
  const { index } = await ledger.append(Buffer.from('one'));
  return { ledger, index };
}

describe('readRange and tail check their arguments at the call (issue 11, item 8)', () => {
  it('readRange refuses a bad maxBytes or limit', async () => {
    const { ledger, index } = await solo();
    expect(() => ledger.readRange(1, { maxBytes: -5 })).toThrow(RangeError);
    expect(() => ledger.readRange(1, { maxBytes: -5 })).toThrow('readRange: maxBytes must be a positive integer, got -5');
    expect(() => ledger.readRange(1, { maxBytes: 'x' as unknown as number })).toThrow(TypeError);
    expect(() => ledger.readRange(1, { maxBytes: 1.5 })).toThrow(RangeError);
    expect(() => ledger.readRange(1, { limit: 'x' as unknown as number })).toThrow(TypeError);
    expect(() => ledger.readRange(1, { limit: 0 })).toThrow(RangeError);
    expect(() => ledger.readRange('1' as unknown as number)).toThrow(TypeError);
    expect(ledger.readRange(index, { maxBytes: 1 }).map((e) => e.payload.toString())).toEqual(['one']);
  });

  it('tail(NaN) and tail(0) throw at once, naming tail', async () => {
    const { ledger, index } = await solo();
    expect(() => ledger.tail(NaN)).toThrow(RangeError);
    expect(() => ledger.tail(NaN)).toThrow('tail: from must be a positive integer, got NaN');
    expect(() => ledger.tail(0)).toThrow(/^tail: from/);
    expect(() => ledger.tail(1, { batchBytes: -1 })).toThrow('tail: batchBytes must be a positive integer, got -1');
    expect(() => ledger.tail(1, { signal: {} as AbortSignal })).toThrow(TypeError);
    const controller = new AbortController();
    const seen: string[] = [];
    for await (const e of ledger.tail(index, { signal: controller.signal })) {
      seen.push(e.payload.toString());
      controller.abort();
    }
    expect(seen).toEqual(['one']);
  });
});

describe('one peer format for Ledger.open, LedgerHost.open and the server (issue 11, item 8)', () => {
  it("LedgerHost.open takes Ledger-style 'host:port' string peers and a spec string", async () => {
    const ports = (await reserveNodePorts(['n0']))['n0']!;
    for (const peers of [{ n0: `127.0.0.1:${ports.raftPort}/${ports.clientPort}` }, `n0=127.0.0.1:${ports.raftPort}/${ports.clientPort}`]) {
      const host = await LedgerHost.open({ dir: tempDir(), id: 'n0', peers, workers: 0, groups: 1, durability: 'memory', tickMs: 5, electionTicks: 20, heartbeatTicks: 4 });
      try {
        const ack = await appendWhenLeader(() => host.append(0, Buffer.from('host')));
        expect(ack.index).toBeGreaterThan(0);
      } finally {
        await host.close();
      }
    }
  });

  it('Ledger.open takes a spec string and host:port/clientPort', async () => {
    const ports = (await reserveNodePorts(['n0']))['n0']!;
    for (const peers of [`n0=127.0.0.1:${ports.raftPort}`, { n0: `127.0.0.1:${ports.raftPort}/${ports.clientPort}` }]) {
      const ledger = await Ledger.open({ dir: tempDir(), id: 'n0', peers, durability: 'memory', tickMs: 5, electionTicks: 20, heartbeatTicks: 4 });
      try {
        const ack = await appendWhenLeader(() => ledger.append(Buffer.from('ledger')));
        expect(ack.index).toBeGreaterThan(0);
      } finally {
        await ledger.close();
      }
    }
    await expect(Ledger.open({ dir: tempDir(), id: 'n0', peers: [`127.0.0.1:${ports.raftPort}`] as unknown as string })).rejects.toThrow(/not an array/);
    await expect(Ledger.open({ dir: tempDir(), id: 'a', peers: { a: '127.0.0.1:7001', b: '127.0.0.1:7001' } })).rejects.toThrow(/same address/);
  });
});

/** Retry `append` while the single node is still electing itself (bounded). */
async function appendWhenLeader<T>(append: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await append();
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_NOT_LEADER' || attempt >= 400) throw error;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

describe("the leader event's '' (issue 11, item 9)", () => {
  it("fires '' while a replica knows no leader, then names the next one", async () => {
    const cluster = new MemoryCluster(3);
    clusters.push(cluster);
    await cluster.startAll();
    const old = await cluster.waitForLeader();
    const [other, watched] = [...cluster.nodes.values()].filter((n) => n.id !== old.id);
    await cluster.waitFor(() => watched!.leader === old.id, `${watched!.id} to know the leader ${old.id}`);
    const seen: Array<[string, number]> = [];
    watched!.on('leader', (id: string, term: number) => seen.push([id, term]));
    // Cut off the leader and one follower: the watched replica's elections cannot succeed,
    // so it has no leader for as long as this lasts and must say so.
    cluster.isolated.add(old.id);
    cluster.isolated.add(other!.id);
    await cluster.waitFor(() => seen.some(([id]) => id === ''), `${watched!.id} to report no leader: ${JSON.stringify(seen)} ${JSON.stringify(watched!.status())}`, 20_000);
    expect(watched!.leader).toBe('');
    cluster.isolated.delete(other!.id);
    const next = await cluster.waitForLeader(20_000, old.id);
    await cluster.waitFor(() => seen.some(([id]) => id === next.id), `${watched!.id} to name the new leader ${next.id}`, 20_000);
    const unknown = seen.findIndex(([id]) => id === '');
    expect(seen.findIndex(([id], i) => i > unknown && id === next.id), JSON.stringify(seen)).toBeGreaterThan(unknown);
    // No event repeats the value before it.
    for (let i = 1; i < seen.length; i++) expect(seen[i]![0]).not.toBe(seen[i - 1]![0]);
  });
});
