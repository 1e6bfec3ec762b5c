import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../dist/client/index.js';
import { LocalCluster } from '../../dist/tools/cluster/local-cluster.js';
import { waitForLeader } from '../../dist/tools/cluster/cluster-status.js';
import { useTempDirs } from '../support/tmp.js';

const tempDir = useTempDirs('raftledger-ports-');
let cluster: LocalCluster | undefined;
let squatter: Server | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
  await new Promise<void>((resolve) => (squatter === undefined ? resolve() : squatter.close(() => resolve())));
  squatter = undefined;
});

function listenOn(address: string): Promise<Server> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(Number(address.slice(colon + 1)), address.slice(0, colon), () => resolve(s));
  });
}

describe('LocalCluster ports', () => {
  it('starts again with new ports when a picked port is taken before its server listens (seen: EADDRINUSE in the torture suite)', async () => {
    const logs: string[] = [];
    const taken: string[] = [];
    cluster = new LocalCluster({
      replicas: 3,
      dir: tempDir(),
      durability: 'memory',
      onLog: (id, line) => logs.push(`${id} ${line}`),
      // Called after the ports are picked and before any server listens: on the first
      // attempt, another listener takes n0's client port, as another process could.
      peerRoute: async (from, _to, target) => {
        if (squatter === undefined && taken.length === 0) {
          const address = cluster!.servers.get(from)!.client;
          taken.push(address);
          squatter = await listenOn(address);
        }
        return target;
      },
    });
    await cluster.start();
    expect(taken).toHaveLength(1);
    expect(cluster.servers.get('n0')!.client).not.toBe(taken[0]);
    expect(logs.some((l) => l.includes('starting again with new ports (attempt 2 of 3)'))).toBe(true);
    const client = await connect({ servers: cluster.clientAddresses, idempotent: false });
    try {
      expect((await waitForLeader(client, 20_000)).role).toBe('leader');
      expect((await client.append(Buffer.from('after a retried start'))).index).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });

  it('does not start again over directories that held data before start()', async () => {
    const dir = tempDir();
    const first = new LocalCluster({ replicas: 3, dir, durability: 'memory' });
    await first.start();
    await first.stop();
    let held = false;
    cluster = new LocalCluster({
      replicas: 3,
      dir,
      durability: 'memory',
      peerRoute: async (from, _to, target) => {
        if (!held) {
          held = true;
          squatter = await listenOn(cluster!.servers.get(from)!.client);
        }
        return target;
      },
    });
    await expect(cluster.start()).rejects.toThrow(/EADDRINUSE|already in use/);
  });
});
