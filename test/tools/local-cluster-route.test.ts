import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../dist/client/index.js';
import { LocalCluster } from '../../dist/tools/cluster/local-cluster.js';
import { waitForLeader } from '../../dist/tools/cluster/cluster-status.js';
import { useTempDirs } from '../support/tmp.js';

const tempDir = useTempDirs('raftledger-route-');
let cluster: LocalCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe('LocalCluster peerRoute', () => {
  it('asks again when a route lands on a port reserved for a server (seen: a proxy handed the ephemeral port a server was about to bind)', async () => {
    const calls: string[] = [];
    let collided = false;
    cluster = new LocalCluster({
      replicas: 3,
      dir: tempDir(),
      durability: 'memory',
      // The first answer is the dialer's own reserved Raft address: the collision a proxy on
      // port 0 can produce before the servers bind. Then the real address (no proxy).
      peerRoute: (from, to, target) => {
        calls.push(`${from}->${to}`);
        if (!collided) {
          collided = true;
          return cluster!.servers.get(from)!.raft;
        }
        return target;
      },
    });
    await cluster.start();
    const client = await connect({ servers: cluster.clientAddresses, idempotent: false });
    try {
      expect((await waitForLeader(client, 20_000)).role).toBe('leader');
      expect(calls.length).toBe(3 * 2 + 1); // one pair asked twice
    } finally {
      await client.close();
    }
  });
});
