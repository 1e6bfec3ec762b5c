/**
 * `raftledger server --join` against a TLS cluster with --client-auth tls and two groups:
 * the joining server reaches the client ports with its own --tls-* files, reads both
 * groups' configurations, stores the cluster's uid (origin join) and, once added to both
 * groups, catches up in each.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../dist/client/index.js';
import { readClusterUid } from '../../dist/replica/cluster-id.js';
import { reserveNodeAddresses } from '../../dist/tools/cluster/ports.js';
import { runCli } from '../cli/processes.js';
import { certAuthority } from '../support/certs.js';
import { startCluster, waitUntil } from '../support/process-cluster.js';

describe('raftledger server --join with TLS', () => {
  it('joins a TLS cluster (client auth tls) in every group and stores its cluster uid', async () => {
    const ca = certAuthority('join');
    const certs = Object.fromEntries(['n0', 'n1', 'n2', 'n3'].map((id) => [id, ca.issue(id)]));
    const tlsArgs = (id: string): string[] => ['--tls-cert', certs[id]!.cert, '--tls-key', certs[id]!.key, '--tls-ca', certs[id]!.ca];
    const clientTls = ca.issue('client');
    const tc = await startCluster({ durability: 'memory', groups: 2, serverArgs: ['--client-auth', 'tls'], serverArgsFor: tlsArgs }, { tls: clientTls });
    const { n3 } = await reserveNodeAddresses(['n3']);
    const listen = `${n3!.raft}/${n3!.client.split(':')[1]}`;
    const dir = join(tc.dir, 'n3');
    const timing = ['--tick-ms', '5', '--heartbeat-ticks', '4', '--election-ticks', '30', '--segment-size', String(4 * 1024 * 1024), '--durability', 'memory', '--groups', '2'];
    const proc = runCli(['server', '--id', 'n3', '--listen', listen, '--join', tc.cluster.clientAddresses.join(','), '--dir', dir, '--client-auth', 'tls', ...tlsArgs('n3'), '--ready-line', ...timing]);
    try {
      await proc.waitFor(/"ready":true/);
      const uid = tc.client.clusterUid ?? (await tc.client.status(), tc.client.clusterUid);
      expect(readClusterUid(dir)).toEqual({ uid, origin: 'join' });
      const acks: number[] = [];
      for (const group of [0, 1]) {
        for (let i = 0; i < 20; i++) acks[group] = (await tc.client.append(Buffer.from(`g${group} ${i}`), { group })).index;
        const view = await tc.client.changeMembers({ type: 'addLearner', id: 'n3', address: listen }, { group });
        expect((view.learners as Array<{ id: string }>).map((m) => m.id)).toEqual(['n3']);
      }
      const direct = await connect({ servers: [n3!.client], deadlineMs: 20_000, tls: clientTls });
      try {
        for (const group of [0, 1]) {
          await waitUntil(async () => ((await direct.status({ server: n3!.client, group })).commitIndex as number) >= acks[group]!, `n3 caught up in group ${group}`);
        }
        expect(direct.clusterUid).toBe(uid);
      } finally {
        await direct.close();
      }
    } finally {
      proc.child.kill('SIGKILL');
      await tc.close();
      ca.dispose();
    }
  }, 120_000);
});
