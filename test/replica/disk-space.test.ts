/**
 * Low free space in one process (free bytes simulated per node with the TEST-ONLY
 * measureFreeBytes hook; the real statfs path is tested on a tmpfs in
 * test/faults/full-disk.test.ts): the leader refuses appends with a retriable
 * ERR_NO_SPACE and hands leadership to a replica that can write, a low replica neither
 * stores nor acknowledges new entries nor campaigns, reads keep working, and writes
 * resume by themselves once space is back, with nothing acknowledged lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isRaftLedgerError } from '../../src/index.js';
import type { Ledger } from '../../src/replica/ledger.js';
import { MemoryCluster } from '../support/memory-cluster.js';

let cluster: MemoryCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const MIN_FREE = 1_000_000;
const PLENTY = 10_000_000_000;

describe('low free space', () => {
  it('the leader refuses with ERR_NO_SPACE, hands leadership to a replica that can write, and catches up once space is back', async () => {
    const free = new Map<string, number>();
    cluster = new MemoryCluster(3, { minFreeBytes: MIN_FREE, spaceCheckIntervalMs: 10 });
    for (const id of cluster.ids) {
      free.set(id, PLENTY);
      await cluster.start(id, { measureFreeBytes: () => free.get(id)! });
    }
    const first = await cluster.waitForLeader();
    const acked: Array<{ index: number; data: string }> = [];
    for (let i = 0; i < 50; i++) acked.push({ index: (await first.append(Buffer.from(`a${i}`))).index, data: `a${i}` });
    free.set(first.id, 100);
    await cluster.waitFor(() => first.status().noSpace, 'the leader to notice');
    // Until it has handed over: refused, retriable, naming the directory and the free bytes.
    if (first.role === 'leader') {
      const refused = await first.append(Buffer.from('x')).catch((e: unknown) => e);
      if (first.role === 'leader' || isRaftLedgerError(refused, 'ERR_NO_SPACE')) {
        expect(isRaftLedgerError(refused, 'ERR_NO_SPACE') || isRaftLedgerError(refused, 'ERR_NOT_LEADER'), String(refused)).toBe(true);
      }
      if (isRaftLedgerError(refused, 'ERR_NO_SPACE')) {
        expect(refused.retriable).toBe(true);
        expect(refused.message).toContain(cluster.dirs.get(first.id)!);
        expect(refused.message).toContain('100 bytes free');
      }
    }
    const second = await cluster.waitForLeader(10_000, first.id);
    const lowLast = first.lastIndex;
    for (let i = 0; i < 50; i++) acked.push({ index: (await second.append(Buffer.from(`b${i}`))).index, data: `b${i}` });
    // The low replica stored nothing new, and so acknowledged nothing new.
    expect(first.lastIndex).toBe(lowLast);
    expect(second.status().followers[first.id]!.match).toBeLessThanOrEqual(lowLast);
    // Reads on it keep working.
    expect(first.read(acked[0]!.index)!.payload.toString()).toBe('a0');
    expect(first.role).not.toBe('leader');
    free.set(first.id, PLENTY);
    await cluster.waitFor(() => !first.status().noSpace && first.commitIndex >= acked.at(-1)!.index, 'the replica to resume');
    for (const node of cluster.nodes.values()) {
      for (const a of acked) expect(node.read(a.index)!.payload.toString()).toBe(a.data);
    }
  });

  it('a replica that cannot write does not campaign: with the leader gone only the other one can lead', async () => {
    const free = new Map<string, number>();
    cluster = new MemoryCluster(3, { minFreeBytes: MIN_FREE, spaceCheckIntervalMs: 10 });
    for (const id of cluster.ids) {
      free.set(id, PLENTY);
      await cluster.start(id, { measureFreeBytes: () => free.get(id)! });
    }
    const leader = await cluster.waitForLeader();
    await leader.append(Buffer.from('x'));
    const [low, ok] = cluster.ids.filter((id) => id !== leader.id) as [string, string];
    free.set(low, 100);
    await cluster.waitFor(() => cluster!.nodes.get(low)!.status().noSpace, 'the low replica to notice');
    // Alone (the leader stopped, the other replica cut off) it reaches its election timeout.
    cluster.isolated.add(ok);
    await cluster.stop(leader.id);
    await cluster.waitFor(() => cluster!.logs.some((l) => l.includes(`[${low}] did not campaign`)), 'the low replica to hold back its campaign');
    cluster.isolated.delete(ok);
    const next: Ledger = await cluster.waitForLeader(10_000, leader.id);
    expect(next.id).toBe(ok);
    const lowNode = cluster.nodes.get(low)!;
    // It still votes (ok won with its vote) and follows, but with one replica down and one
    // full nothing can commit; once space is back it stores again and writes commit.
    free.set(low, PLENTY);
    const last = (await next.append(Buffer.from('z'))).index;
    await cluster.waitFor(() => lowNode.lastIndex >= last, 'the low replica to store again');
  });
});
