/** `raftledger server --join`: a new server takes its peers from the running cluster, waits as a learner, and catches up once added. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../dist/client/index.js';
import { reserveNodeAddresses } from '../../dist/tools/cluster/ports.js';
import { runCli } from '../cli/processes.js';
import { startCluster, waitUntil } from '../support/process-cluster.js';

describe('raftledger server --join', () => {
  it('joins as a learner, is added, catches up; a --join to another cluster id is refused at start', async () => {
    const tc = await startCluster({ durability: 'memory' });
    const servers = tc.cluster.clientAddresses.join(',');
    const { n3 } = await reserveNodeAddresses(['n3']);
    const listen = `${n3!.raft}/${n3!.client.split(':')[1]}`;
    const timing = ['--tick-ms', '5', '--heartbeat-ticks', '4', '--election-ticks', '30', '--segment-size', String(4 * 1024 * 1024), '--durability', 'memory'];
    const wrong = runCli(['server', '--id', 'n3', '--listen', listen, '--join', servers, '--dir', join(tc.dir, 'n3-wrong'), '--cluster-id', 'other', ...timing]);
    const proc = runCli(['server', '--id', 'n3', '--listen', listen, '--join', servers, '--dir', join(tc.dir, 'n3'), '--ready-line', ...timing]);
    try {
      const refused = await wrong.exited();
      expect(refused.code).toBe(2);
      expect(wrong.stderr()).toContain("belong to cluster 'raftledger', this server is configured for 'other'");
      await proc.waitFor(/"ready":true/);
      const acks: Array<{ index: number; pos: number }> = [];
      for (let i = 0; i < 50; i++) acks.push(await tc.client.append(Buffer.from(`j${i}`)));
      const view = await tc.client.changeMembers({ type: 'addLearner', id: 'n3', address: listen });
      expect((view.learners as Array<{ id: string }>).map((m) => m.id)).toEqual(['n3']);
      const direct = await connect({ servers: [n3!.client], deadlineMs: 20_000 });
      try {
        await waitUntil(async () => ((await direct.status({ server: n3!.client })).commitIndex as number) >= acks[49]!.index, 'n3 caught up');
        const members = await direct.members({ server: n3!.client });
        expect((members.learners as Array<{ id: string }>).map((m) => m.id)).toEqual(['n3']);
      } finally {
        await direct.close();
      }
    } finally {
      proc.child.kill('SIGKILL');
      wrong.child.kill('SIGKILL');
      await tc.close();
    }
  }, 120_000);

  it('with --workers 2 the main thread\'s client port serves membership (list, and a refused change)', async () => {
    const tc = await startCluster({ durability: 'memory', workers: 2, groups: 2 });
    try {
      for (const group of [0, 1]) {
        const view = await tc.client.members({ group });
        expect((view.voters as Array<{ id: string }>).map((m) => m.id).sort()).toEqual(['n0', 'n1', 'n2']);
        await expect(tc.client.changeMembers({ type: 'promote', id: 'n9' }, { group })).rejects.toMatchObject({ code: 'ERR_CONF_CHANGE_INVALID' });
      }
    } finally {
      await tc.close();
    }
  }, 120_000);
});
