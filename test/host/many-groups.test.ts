import { afterEach, describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { Ledger } from '../../dist/replica/ledger.js';
import { RaftLedgerError } from '../../dist/errors.js';
import { appendVia, leaderOf, openNodes, records, waitForLeaders, waitUntil, IDS, type Nodes } from './helpers.js';

let nodes: Nodes | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await nodes?.close();
  nodes = undefined;
});

describe('LedgerHost: 64 groups on 3 nodes with 2 workers each', () => {
  it('elects a leader in every group, commits appends to all groups, and holds byte-identical logs per group', async () => {
    const G = 64;
    const W = 2;
    const opens = vi.spyOn(Ledger, 'open');
    nodes = await openNodes(W, G, 'memory');
    // No group's Ledger (Raft core + storage) was opened on this (the main) thread.
    expect(opens).not.toHaveBeenCalled();
    const leaders = await waitForLeaders(nodes, G);
    expect(leaders.size).toBe(G);

    // Placement: group g on worker g mod W, on a worker thread, the same worker index on every node.
    for (const [id, host] of nodes.hosts) {
      const s = await host.status();
      expect(s.threadId).toBe(threadId);
      expect(s.groups.map((g) => g.group)).toEqual(Array.from({ length: G }, (_, i) => i));
      const workerThreads = new Set(s.workers.map((w) => w.threadId));
      expect(workerThreads.size).toBe(W);
      expect(workerThreads.has(threadId)).toBe(false);
      for (const g of s.groups) {
        expect(g.worker, `${id} group ${g.group}`).toBe(g.group % W);
        expect(g.threadId).toBe(s.workers[g.group % W]!.threadId);
      }
    }

    // Every group: one single append, then one batch of 4, through its leader (retrying
    // ERR_NOT_LEADER, which means "not appended": leadership may move while 192 replicas start).
    const acked = new Map<number, Map<number, string>>();
    await Promise.all(
      Array.from({ length: G }, async (_, g) => {
        const m = new Map<number, string>();
        acked.set(g, m);
        const single = await appendVia(nodes!, g, Buffer.from(`g${g}-first`));
        m.set(single.index, `g${g}-first`);
        const texts = [1, 2, 3, 4].map((k) => `g${g}-batch-${k}`);
        const batch = await appendVia(nodes!, g, texts.map((t) => Buffer.from(t)));
        expect(batch.map((a) => a.index - batch[0]!.index)).toEqual([0, 1, 2, 3]);
        batch.forEach((a, i) => m.set(a.index, texts[i]!));
      }),
    );
    for (const g of [0, 31, 63]) {
      const id = (await leaderOf(nodes, g)) ?? leaders.get(g)!;
      const host = nodes.hosts.get(id)!;
      const [first] = [...acked.get(g)!.keys()];
      expect((await host.read(g, first!))?.payload.toString()).toBe(`g${g}-first`);
      const range = await host.readRange(g, first!, { limit: 1 });
      expect(range.map((e) => e.payload.toString())).toEqual([`g${g}-first`]);
    }
    // A follower refuses with a rebuilt RaftLedgerError carrying the leader hint.
    const leader0 = (await leaderOf(nodes, 0))!;
    const follower = IDS.find((id) => id !== leader0)!;
    const refused = await nodes.hosts.get(follower)!.append(0, Buffer.from('nope')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RaftLedgerError);
    expect((refused as RaftLedgerError).code).toBe('ERR_NOT_LEADER');
    expect((refused as RaftLedgerError).retriable).toBe(true);

    const lastOf = new Map<number, number>();
    for (const [g, m] of acked) lastOf.set(g, Math.max(...m.keys()));
    await waitUntil(async () => {
      for (const host of nodes!.hosts.values()) {
        const s = await host.status();
        if (!s.groups.every((g) => g.commitIndex >= lastOf.get(g.group)!)) return false;
      }
      return true;
    }, 'every node to commit every group');
    await Promise.all([...nodes.hosts.values()].map((h) => h.close()));

    for (let g = 0; g < G; g++) {
      const last = lastOf.get(g)!;
      const logs = await Promise.all(IDS.map((id) => records(join(nodes!.dir, id, `group-${g}`), last)));
      expect(logs[0]!.length).toBe(last);
      expect(logs[1]).toEqual(logs[0]);
      expect(logs[2]).toEqual(logs[0]);
      for (const [index, text] of acked.get(g)!) expect(Buffer.from(logs[0]![index - 1]!, 'base64').subarray(48).toString()).toBe(text);
    }
  });
});

describe('LedgerHost: the main thread only routes', () => {
  it('with workers: 0 the groups run here (positive control); with workers: 2 none do, and one turn of appends is one message', async () => {
    const opens = vi.spyOn(Ledger, 'open');
    nodes = await openNodes(0, 4, 'memory');
    expect(opens).toHaveBeenCalledTimes(3 * 4);
    const local = await nodes.hosts.get('a')!.status();
    expect(local.groups.every((g) => g.threadId === threadId)).toBe(true);
    await nodes.close();
    nodes = undefined;
    opens.mockClear();

    nodes = await openNodes(2, 4, 'memory');
    const leaders = await waitForLeaders(nodes, 4);
    expect(opens).not.toHaveBeenCalled();
    const id = leaders.get(0)!;
    const host = nodes.hosts.get(id)!;
    const s = await host.status(0);
    expect(s.threadId).not.toBe(threadId);
    expect(s.worker).toBe(0);

    // 200 appends made in one turn to group 0 leave as ONE message to worker 0.
    await new Promise((r) => setImmediate(r));
    const before = host.channelStats()[0]!;
    const owned = Array.from({ length: 100 }, (_, i) => new Uint8Array(16).fill(i)); // transferable
    const pooled = Array.from({ length: 100 }, (_, i) => Buffer.from(`pooled-${i}`)); // slices of Buffer's pool: copied
    const acks = Promise.all([...owned.map((p) => host.append(0, p)), ...pooled.map((p) => host.append(0, p))]);
    await new Promise((r) => setImmediate(r));
    const after = host.channelStats()[0]!;
    expect(after.batches - before.batches).toBe(1);
    expect(after.calls - before.calls).toBe(200);
    expect(after.copiedBytes - before.copiedBytes).toBe(pooled.reduce((n, p) => n + p.byteLength, 0));
    expect(after.transferredBuffers - before.transferredBuffers).toBe(101); // 100 owned + 1 batch buffer
    expect(owned[0]!.byteLength).toBe(0); // moved, not copied
    const done = await acks;
    expect(new Set(done.map((a) => a.index)).size).toBe(200);
    expect((await host.read(0, done[5]!.index))?.payload).toEqual(Buffer.alloc(16, 5));
    expect((await host.read(0, done[150]!.index))?.payload.toString()).toBe('pooled-50');
  });

  it('addGroup / removeGroup at run time, tail, transferLeadership, errors', async () => {
    nodes = await openNodes(2, 2, 'memory');
    await Promise.all([...nodes.hosts.values()].map((h) => h.addGroup(7)));
    const leaders = await waitForLeaders(nodes, 3);
    const id = leaders.get(7)!;
    const host = nodes.hosts.get(id)!;
    expect((await host.status(7)).worker).toBe(1);
    const ac = new AbortController();
    const seen: string[] = [];
    const tailing = (async () => {
      for await (const e of host.tail(7, 1, { signal: ac.signal })) {
        if (e.payload.length > 0) seen.push(e.payload.toString());
        if (seen.length === 3) ac.abort();
      }
    })();
    for (const k of [1, 2, 3]) await host.append(7, Buffer.from(`t${k}`));
    await tailing;
    expect(seen).toEqual(['t1', 't2', 't3']);

    const to = IDS.find((x) => x !== id)!;
    await host.transferLeadership(7, to, { timeoutMs: 5000 });
    await waitUntil(async () => (await nodes!.hosts.get(to)!.status(7)).role === 'leader', 'the new leader');

    await expect(host.append(99, Buffer.from('x'))).rejects.toMatchObject({ code: 'ERR_BAD_CONFIG' });
    await expect(host.read(7, 0)).rejects.toBeInstanceOf(RangeError);
    await Promise.all([...nodes.hosts.values()].map((h) => h.removeGroup(7)));
    expect(host.hasGroup(7)).toBe(false);
    await expect(host.status(7)).rejects.toMatchObject({ code: 'ERR_BAD_CONFIG' });
    await host.close();
    await host.close(); // idempotent
    await expect(host.append(0, Buffer.from('x'))).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });
});
