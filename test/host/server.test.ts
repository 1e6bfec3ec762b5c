import { afterEach, describe, expect, it } from 'vitest';
import { startCluster, waitForLeader, replicaDir, readRecords, waitUntil, viewCluster, type TestCluster } from '../support/process-cluster.js';

let tc: TestCluster | undefined;
afterEach(async () => {
  await tc?.close();
  tc = undefined;
});

describe('raftledger server --workers 2 --groups 4 (3 processes)', () => {
  it('serves every group through the client port, reports worker threads and the main-thread loop delay in status', async () => {
    const G = 4;
    tc = await startCluster({ workers: 2, groups: G, durability: 'memory' });
    for (let g = 0; g < G; g++) await waitForLeader(tc.client, 20_000, undefined, g);
    const acked = new Map<number, Map<number, string>>();
    await Promise.all(
      Array.from({ length: G }, async (_, g) => {
        const m = new Map<number, string>();
        acked.set(g, m);
        for (let i = 0; i < 20; i++) {
          const ack = await tc!.client.append(Buffer.from(`g${g}-${i}`), { group: g });
          m.set(ack.index, `g${g}-${i}`);
        }
        const [first] = [...m.keys()];
        expect((await tc!.client.read(first!, { group: g }))?.payload.toString()).toBe(`g${g}-0`);
      }),
    );
    // Data requests went to the worker that owns the group, on its own client port
    // (node client port + 1 + g mod W): the main thread only answered ERR_MOVED once.
    const nodeClientPorts = [...tc.cluster.servers.values()].map((s) => Number(s.client.split(':').pop()));
    for (let g = 0; g < G; g++) {
      const port = Number(tc.client.leaderOf(g)?.split(':').pop());
      expect(nodeClientPorts, `group ${g} served at ${tc.client.leaderOf(g)}`).toContain(port - 1 - (g % 2));
    }
    const all = await tc.client.statusAll({ group: 1 });
    for (const r of all) {
      const s = r.status as { worker: number; threadId: number; host: { threadId: number; eventLoopDelay: { p99Ms: number } } };
      expect(s.worker, JSON.stringify(r)).toBe(1);
      expect(s.threadId).not.toBe(s.host.threadId); // the group runs on a worker, not the thread serving clients
      expect(typeof s.host.eventLoopDelay.p99Ms).toBe('number');
    }
    await expect(tc.client.append(Buffer.from('x'), { group: 9 })).rejects.toMatchObject({ code: 'ERR_BAD_CONFIG' });
    for (let g = 0; g < G; g++) {
      const last = Math.max(...acked.get(g)!.keys());
      await waitUntil(async () => (await viewCluster(tc!.client, g)).every((v) => (v.commitIndex ?? 0) >= last), `group ${g} committed everywhere`);
    }
    await tc.cluster.stop();
    for (let g = 0; g < G; g++) {
      const last = Math.max(...acked.get(g)!.keys());
      const logs = await Promise.all(tc.cluster.ids.map((id) => readRecords(replicaDir(tc!, id, g), last)));
      expect(logs[0]!.length).toBe(last);
      expect(logs[1]).toEqual(logs[0]);
      expect(logs[2]).toEqual(logs[0]);
    }
  });
});
