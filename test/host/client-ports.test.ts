/**
 * LedgerHost with per-worker client ports (the server's worker module and workerClientPorts,
 * as `raftledger server --workers` runs it): network clients talk straight to the worker
 * that owns their group.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { workerClientAddress } from '../../dist/host/placement.js';
import { connect } from '../../dist/client/index.js';
import { crashWorker } from '../../dist/host/internal.js';
import { SERVER_WORKER_MODULE } from '../../dist/server/worker.js';
import { leaderOf, openNodes, waitForLeaders, IDS, type Nodes } from './helpers.js';

let nodes: Nodes | undefined;
afterEach(async () => {
  await nodes?.close();
  nodes = undefined;
});

describe('LedgerHost: per-worker client ports', () => {
  it('a network client keeps appending through a worker restart, nothing acknowledged is lost', async () => {
    const G = 2;
    nodes = await openNodes(2, G, 'fsync', {}, { workerModule: SERVER_WORKER_MODULE, workerClientPorts: true });
    await waitForLeaders(nodes, G);
    const group = 0; // worker 0 on every node
    const servers = IDS.map((id) => workerClientAddress(nodes!.options(id).peers[id]!.client, 0));
    const client = await connect({ servers, group, deadlineMs: 30_000 });
    try {
      const acked = new Map<number, string>();
      for (let i = 0; i < 20; i++) acked.set((await client.append(Buffer.from(`before-${i}`))).index, `before-${i}`);
      expect(servers).toContain(client.leaderOf(group));
      const victimId = (await leaderOf(nodes, group))!;
      const victim = nodes.hosts.get(victimId)!;
      const restarted = new Promise((resolve) => victim.once('workerRestart', resolve));
      victim[crashWorker](0, 'exit');
      // Appends made while worker 0 of the leader is down or restarting: the client retries
      // (another node may take over, or the restarted worker listens again on its port).
      const during = Array.from({ length: 20 }, (_, i) => client.append(Buffer.from(`during-${i}`)).then((ack) => acked.set(ack.index, `during-${i}`)));
      await restarted;
      await Promise.all(during);
      for (let i = 0; i < 20; i++) acked.set((await client.append(Buffer.from(`after-${i}`))).index, `after-${i}`);
      for (const [index, text] of acked) {
        const entry = await client.read(index);
        expect(entry?.payload.toString(), `index ${index}`).toBe(text);
      }
    } finally {
      await client.close();
    }
  });

  it("a worker sends a request for another worker's group there (ERR_MOVED)", async () => {
    nodes = await openNodes(2, 2, 'memory', {}, { workerModule: SERVER_WORKER_MODULE, workerClientPorts: true });
    await waitForLeaders(nodes, 2);
    const a = nodes.options('a').peers.a!.client;
    // Only worker 0's port of node a is known to the client; group 1 lives on worker 1.
    const client = await connect({ servers: [workerClientAddress(a, 0)], group: 1, deadlineMs: 20_000 });
    try {
      const ack = await client.append(Buffer.from('to worker 1'));
      expect((await client.read(ack.index))?.payload.toString()).toBe('to worker 1');
      const port = Number(client.leaderOf(1)?.split(':').pop());
      const worker1Ports = IDS.map((id) => Number(workerClientAddress(nodes!.options(id).peers[id]!.client, 1).split(':').pop()));
      expect(worker1Ports).toContain(port);
    } finally {
      await client.close();
    }
  });
});
