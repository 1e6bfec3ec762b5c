/**
 * Configuration mistakes across processes (issue 13): n0 and n1 started with --peers
 * n0,n1,n2 and n2 with only itself derive different cluster uids (replica/cluster-id.ts).
 * n2 refuses its would-be peers at the handshake (and they see why), and a client that
 * talks to a server of each gets ERR_CLUSTER_MISMATCH instead of answers from two clusters.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../dist/client/index.js';
import { deriveClusterUid } from '../../dist/replica/cluster-id.js';
import { reserveNodeAddresses } from '../../dist/tools/cluster/ports.js';
import { runCli, type CliProcess } from '../cli/processes.js';
import { useTempDirs } from '../support/tmp.js';

const tempDir = useTempDirs();
const timing = ['--tick-ms', '5', '--heartbeat-ticks', '4', '--election-ticks', '30', '--segment-size', String(4 * 1024 * 1024), '--durability', 'memory'];

describe('two clusters from disagreeing --peers', () => {
  it('a node started with only itself is refused by the peers that list three, and clients never mix the two', async () => {
    const a = await reserveNodeAddresses(['n0', 'n1', 'n2']);
    const spec = (id: string): string => `${id}=${a[id]!.raft}/${a[id]!.client.split(':')[1]}`;
    const all = ['n0', 'n1', 'n2'].map(spec).join(',');
    const root = tempDir();
    const procs: CliProcess[] = [];
    const start = (id: string, peers: string): CliProcess => {
      const p = runCli(['server', '--id', id, '--peers', peers, '--dir', join(root, id), '--ready-line', ...timing]);
      procs.push(p);
      return p;
    };
    try {
      const n0 = start('n0', all);
      start('n1', all);
      const n2 = start('n2', spec('n2'));
      await Promise.all(procs.map((p) => p.waitFor(/"ready":true/)));
      // n0 and n1 dial n2 (the smaller id dials): n2 refuses them and logs why; n0 logs n2's reason.
      await n2.waitFor(/cluster mismatch: node \\?"n[01]\\?" belongs to cluster [0-9a-f]{16}/, 30_000);
      await n0.waitFor(/cluster mismatch/, 30_000);

      const three = deriveClusterUid('raftledger', ['n0', 'n1', 'n2']);
      const client = await connect({ servers: [a.n0!.client, a.n1!.client], deadlineMs: 20_000, idempotent: false });
      try {
        const ack = await client.append(Buffer.from('to the three'));
        expect(ack.index).toBeGreaterThan(0);
        expect(client.clusterUid).toBe(three);
        expect((await client.members({ server: a.n0!.client })).clusterUid).toBe(three);
        await expect(client.status({ server: a.n2!.client })).rejects.toMatchObject({ code: 'ERR_CLUSTER_MISMATCH', retriable: false });
      } finally {
        await client.close();
      }
      // The other way round: a client that met n2 first refuses n0.
      const other = await connect({ servers: [a.n2!.client, a.n0!.client], deadlineMs: 20_000, idempotent: false });
      try {
        await other.status({ server: a.n2!.client });
        expect(other.clusterUid).toBe(deriveClusterUid('raftledger', ['n2']));
        await expect(other.status({ server: a.n0!.client })).rejects.toMatchObject({ code: 'ERR_CLUSTER_MISMATCH' });
      } finally {
        await other.close();
      }
      // Restarted with the three-node --peers, n2 keeps its stored uid: still refused.
      n2.child.kill('SIGTERM');
      await n2.exited();
      const again = start('n2', all);
      await again.waitFor(/"ready":true/);
      await again.waitFor(/cluster mismatch/, 30_000);
    } finally {
      for (const p of procs) p.child.kill('SIGKILL');
    }
  }, 120_000);
});
