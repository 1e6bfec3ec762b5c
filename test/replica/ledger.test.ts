import { afterEach, describe, expect, it } from 'vitest';
import { SegmentedLog, isRaftLedgerError } from '../../src/index.js';
import { MemoryCluster } from '../support/memory-cluster.js';

let cluster: MemoryCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('Ledger (in-process cluster over real disks and the wire codec)', () => {
  for (const durability of ['fsync', 'memory'] as const) {
    it(`elects a leader, commits appends and keeps byte-identical logs (${durability})`, async () => {
      cluster = new MemoryCluster(3, { durability });
      await cluster.startAll();
      const leader = await cluster.waitForLeader();
      const acks = await Promise.all(Array.from({ length: 200 }, (_, i) => leader.append(Buffer.from(`message ${i}`))));
      const batch = await leader.append([Buffer.from('a'), Buffer.from('bb')]);
      expect(batch.map((a) => a.index)).toEqual([acks.at(-1)!.index + 1, acks.at(-1)!.index + 2]);
      const indexes = acks.map((a) => a.index);
      expect(new Set(indexes).size).toBe(200);
      for (let i = 0; i < 200; i++) expect(leader.read(acks[i]!.index)!.payload.toString()).toBe(`message ${i}`);
      const last = batch[1]!.index;
      await cluster.waitFor(() => [...cluster!.nodes.values()].every((n) => n.commitIndex >= last), 'followers to commit');
      for (const node of cluster.nodes.values()) {
        for (let i = 1; i <= last; i++) {
          const a = leader.read(i)!;
          const b = node.read(i)!;
          expect(b.pos).toBe(a.pos);
          expect(b.term).toBe(a.term);
          expect(b.payload.equals(a.payload)).toBe(true);
        }
      }
      const status = leader.status();
      expect(status.role).toBe('leader');
      expect(Object.keys(status.followers).sort()).toEqual(cluster.ids.filter((id) => id !== leader.id).sort());
    });
  }

  it('a follower refuses appends with ERR_NOT_LEADER naming the leader', async () => {
    cluster = new MemoryCluster(3, { clientAddresses: { n0: 'h:1', n1: 'h:2', n2: 'h:3' } });
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    await leader.append(Buffer.from('x'));
    const follower = [...cluster.nodes.values()].find((n) => n !== leader)!;
    await cluster.waitFor(() => follower.leader === leader.id, 'follower to learn the leader');
    const error = await follower.append(Buffer.from('y')).catch((e: unknown) => e);
    expect(isRaftLedgerError(error, 'ERR_NOT_LEADER')).toBe(true);
    expect((error as { leaderHint?: unknown }).leaderHint).toEqual({ id: leader.id, address: `h:${Number(leader.id.slice(1)) + 1}` });
    expect((error as { retriable?: boolean }).retriable).toBe(true);
  });

  it('fails over when the leader stops, loses no acknowledged entry, and the old leader catches up', async () => {
    cluster = new MemoryCluster(3);
    await cluster.startAll();
    const first = await cluster.waitForLeader();
    const acked: Array<{ index: number; payload: string }> = [];
    for (let i = 0; i < 50; i++) {
      const p = `before ${i}`;
      acked.push({ index: (await first.append(Buffer.from(p))).index, payload: p });
    }
    await cluster.stop(first.id);
    const second = await cluster.waitForLeader(10_000, first.id);
    expect(second.id).not.toBe(first.id);
    for (let i = 0; i < 50; i++) {
      const p = `after ${i}`;
      acked.push({ index: (await second.append(Buffer.from(p))).index, payload: p });
    }
    const back = await cluster.start(first.id);
    const lastAck = acked.at(-1)!.index;
    await cluster.waitFor(() => back.commitIndex >= lastAck, 'the restarted node to catch up');
    for (const node of cluster.nodes.values()) {
      for (const a of acked) expect(node.read(a.index)?.payload.toString()).toBe(a.payload);
    }
  });

  it('a restart of every replica keeps the log and the commit index', async () => {
    cluster = new MemoryCluster(3);
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    const acks = await leader.append(Array.from({ length: 100 }, (_, i) => Buffer.from(`m${i}`)));
    const last = acks.at(-1)!.index;
    await cluster.waitFor(() => [...cluster!.nodes.values()].every((n) => n.commitIndex >= last), 'all to commit');
    for (const id of cluster.ids) await cluster.stop(id);
    for (const id of cluster.ids) {
      const log = await SegmentedLog.open({ dir: cluster.dirs.get(id)!, readOnly: true });
      expect(log.lastIndex).toBeGreaterThanOrEqual(last);
      expect(log.hardState.commitIndex).toBeGreaterThanOrEqual(last);
      await log.close();
    }
    await cluster.startAll();
    for (const node of cluster.nodes.values()) {
      expect(node.commitIndex).toBeGreaterThanOrEqual(last);
      expect(node.read(last)!.payload.toString()).toBe('m99');
    }
    const leader2 = await cluster.waitForLeader();
    const next = await leader2.append(Buffer.from('after restart'));
    expect(next.index).toBeGreaterThan(last);
  });

  it('tail() yields committed entries in order and waits for new ones', async () => {
    cluster = new MemoryCluster(3);
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    const follower = [...cluster.nodes.values()].find((n) => n !== leader)!;
    const controller = new AbortController();
    const seen: string[] = [];
    const reader = (async () => {
      for await (const e of follower.tail(1, { signal: controller.signal })) {
        if (e.type === 'normal') seen.push(e.payload.toString());
        if (seen.length === 30) controller.abort();
      }
    })();
    for (let i = 0; i < 30; i++) await leader.append(Buffer.from(`t${i}`));
    await reader;
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => `t${i}`));
  });

  it('rejects bad input and overload with typed errors, and close() is idempotent', async () => {
    cluster = new MemoryCluster(1, { maxPendingAppends: 10 });
    await cluster.startAll();
    const solo = await cluster.waitForLeader();
    await expect(solo.append('text' as unknown as Uint8Array)).rejects.toThrow(TypeError);
    await expect(solo.append([])).rejects.toThrow(TypeError);
    await expect(solo.append(Buffer.alloc(2 * 1024 * 1024))).rejects.toMatchObject({ code: 'ERR_ENTRY_TOO_LARGE' });
    await expect(solo.append(Array.from({ length: 11 }, () => Buffer.alloc(1)))).rejects.toMatchObject({ code: 'ERR_OVERLOADED', retriable: true });
    expect(() => solo.read(0)).toThrow(RangeError);
    expect(solo.read(1000)).toBeNull();
    const inflight = solo.append(Buffer.from('late')).then(() => 'ok', (e: { code?: string }) => e.code);
    await Promise.all([solo.close(), solo.close()]);
    const outcome = await inflight;
    expect(['ok', 'ERR_CLOSED']).toContain(outcome);
    await expect(solo.append(Buffer.from('x'))).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });
});
