/**
 * Replacing a replica of a running cluster (issue 13): three server processes under load,
 * a fourth started as a learner and added with `raftledger members add`, caught up,
 * promoted, one original removed and killed; every acknowledged entry is on each of the
 * replicas that remain, and `raftledger status` / `members list` show the new membership.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { connect } from '../../dist/client/index.js';
import { startCluster, readRecords, replicaDir, waitUntil, viewCluster } from '../support/process-cluster.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [MAIN, ...args], { timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}

describe('membership: replace a replica under load (3 server processes + 1)', () => {
  it('adds n3 as a learner, promotes it, removes and kills n0; nothing acknowledged is lost', async () => {
    const tc = await startCluster({ durability: 'memory' });
    const acked = new Map<number, string>();
    let stop = false;
    let appendErrors = 0;
    const load = (async () => {
      // Bounded: at most 40000 appends, and it stops when the test says so.
      for (let i = 0; i < 40_000 && !stop; i++) {
        const text = `load ${i}`;
        try {
          const ack = await tc.client.append(Buffer.from(text));
          acked.set(ack.index, text);
        } catch {
          appendErrors++;
        }
      }
    })();
    try {
      await waitUntil(() => acked.size >= 200, '200 acknowledged appends');
      const servers = tc.cluster.clientAddresses.join(',');
      const n3 = await tc.cluster.addServer('n3');
      const port = n3.client.slice(n3.client.lastIndexOf(':') + 1);
      // Bad input first: each a clear error, nothing changed.
      const noLearner = await cli(['members', '--servers', servers, 'add', `n3=${n3.raft}/${port}`]);
      expect(noLearner.code).toBe(2);
      expect(noLearner.stderr).toContain('needs --learner');
      const notMember = await cli(['members', '--servers', servers, 'promote', 'n9']);
      expect(notMember.code).toBe(2);
      expect(notMember.stderr).toContain('ERR_CONF_CHANGE_INVALID');
      const added = await cli(['members', '--servers', servers, 'add', `n3=${n3.raft}/${port}`, '--learner']);
      expect(added.stderr).toBe('');
      expect(added.code).toBe(0);
      expect(added.stdout).toMatch(/learner\s+n3\s+127\.0\.0\.1:\d+\/\d+/);
      // The same add again (a retry after a lost answer) succeeds; n3 at another address is refused.
      const twice = await cli(['members', '--servers', servers, 'add', `n3=${n3.raft}/${port}`, '--learner']);
      expect(twice.stderr).toBe('');
      expect(twice.code).toBe(0);
      const elsewhere = await cli(['members', '--servers', servers, 'add', `n3=${n3.raft}/${Number(port) + 1}`, '--learner']);
      expect(elsewhere.stderr).toContain('already a member');
      // n3 catches up while the load goes on; promotion is refused while it lags too far.
      let promoted = false;
      for (let attempt = 0; attempt < 100 && !promoted; attempt++) {
        const r = await cli(['members', '--servers', servers, 'promote', 'n3']);
        if (r.code === 0) promoted = true;
        else {
          expect(r.stderr).toContain('ERR_LEARNER_BEHIND');
          await new Promise((res) => setTimeout(res, 200));
        }
      }
      expect(promoted).toBe(true);
      const removed = await cli(['members', '--servers', `${servers},${n3.client}`, 'remove', 'n0']);
      expect(removed.stderr).toBe('');
      expect(removed.code).toBe(0);
      expect(removed.stdout).not.toMatch(/\bn0\b/);
      await tc.cluster.kill('n0', 'SIGKILL');
      const rest = `${tc.cluster.servers.get('n1')!.client},${tc.cluster.servers.get('n2')!.client},${n3.client}`;
      const before = acked.size;
      await waitUntil(() => acked.size >= before + 200, '200 more acknowledged appends after the removal', 60_000);
      const list = await cli(['members', '--servers', rest, 'list']);
      expect(list.code).toBe(0);
      expect(list.stdout.match(/^voter/gm)?.length).toBe(3);
      expect(list.stdout).toMatch(/voter\s+n3/);
      const status = await cli(['status', '--servers', rest]);
      expect(status.stdout).toMatch(/members: voters [n0-9,]+ {2}learners -/);
      expect(status.stdout).not.toMatch(/voters [^ ]*n0/);
      stop = true;
      await load;
      // Every acknowledged entry is in n1's, n2's and n3's logs, committed.
      const last = Math.max(...acked.keys());
      const restClient = await connect({ servers: rest.split(','), deadlineMs: 20_000 });
      try {
        await waitUntil(async () => (await viewCluster(restClient)).filter((v) => v.error === undefined && (v.commitIndex ?? 0) >= last).length === 3, 'the three replicas commit the last acknowledged entry');
      } finally {
        await restClient.close();
      }
      await tc.cluster.stop();
      for (const id of ['n1', 'n2', 'n3']) {
        // Entries 1..last in index order (no-op and Config entries included); a record's body follows its 48-byte header.
        const records = await readRecords(replicaDir(tc, id), last);
        expect(records.length, `${id} holds entries 1..${last}`).toBe(last);
        for (const [index, text] of acked) {
          expect(Buffer.from(records[index - 1]!.record, 'base64').subarray(48).toString(), `${id} entry ${index}`).toBe(text);
        }
      }
      expect(appendErrors).toBeLessThan(acked.size);
    } finally {
      stop = true;
      await load.catch(() => {});
      await tc.close();
    }
  }, 240_000);
});
