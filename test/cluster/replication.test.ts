import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { startCluster, replicaDir, readRecords, waitForLeader, viewCluster, waitUntil, type TestCluster } from '../support/process-cluster.js';
import { allCommitted, appendAndCommit, appendMany, recordsOfAll } from '../support/cluster-load.js';

let tc: TestCluster | undefined;
afterEach(async () => {
  await tc?.close();
  tc = undefined;
});

describe('a cluster of 3 server processes', () => {
  it('elects a leader, commits appends, and holds byte-identical logs on every replica', async () => {
    tc = await startCluster();
    const leader = await waitForLeader(tc.client, 20_000);
    expect(['n0', 'n1', 'n2']).toContain(leader.id);
    const acked = await appendMany(tc, 300, 'm');
    expect(acked.size).toBe(300);
    for (const [index, text] of [...acked].slice(0, 20)) {
      const e = await tc.client.read(index);
      expect(e?.payload.toString()).toBe(text);
    }
    const last = Math.max(...acked.keys());
    await waitUntil(() => allCommitted(tc!, last), 'all replicas to commit');
    await tc.cluster.stop();
    const [a, b, c] = await recordsOfAll(tc, last);
    expect(a!.length).toBe(last);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });

  it('kill -9 of the leader under load: a new leader, nothing acknowledged lost or duplicated, and the old leader catches up through a truncation', async () => {
    tc = await startCluster();
    const first = await waitForLeader(tc.client, 20_000);
    const firstId = first.id!;
    const followers = tc.cluster.ids.filter((id) => id !== first.id);
    const before = await appendMany(tc, 200, 'before');
    // Give the old leader entries that can never commit: kill its followers (so nothing
    // reaches them, not even through socket buffers), then append to it.
    for (const f of followers) await tc.cluster.kill(f, 'SIGKILL');
    const doomed = await import('../../dist/client/index.js').then((m) => m.connect({ servers: [tc!.cluster.servers.get(firstId)!.client], deadlineMs: 400, requestTimeoutMs: 400, idempotent: false }));
    const doomedResults = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => doomed.append(Buffer.from(`doomed-${i}`))));
    await doomed.close();
    expect(doomedResults.every((r) => r.status === 'rejected')).toBe(true);
    const killedAt = Date.now();
    await tc.cluster.kill(firstId, 'SIGKILL');
    for (const f of followers) await tc.cluster.startServer(f);
    const second = await waitForLeader(tc.client, 20_000, firstId);
    const failoverMs = Date.now() - killedAt;
    expect(second.id).not.toBe(first.id);
    expect(failoverMs).toBeLessThan(15_000); // a bound, not a speed check: bench/ measures speed
    const after = await appendMany(tc, 200, 'after');
    // The old leader really holds the doomed entries, at indexes the new leader has reused.
    const oldLog = await readRecords(replicaDir(tc, firstId), Number.MAX_SAFE_INTEGER);
    const doomedOnDisk = oldLog.filter((r) => Buffer.from(r.record, 'base64').subarray(48).toString().startsWith('doomed'));
    expect(doomedOnDisk.length).toBeGreaterThan(0);
    await tc.cluster.startServer(firstId);
    const all = new Map([...before, ...after]);
    const last = Math.max(...all.keys());
    await waitUntil(() => allCommitted(tc!, last), 'the old leader to catch up');
    await tc.cluster.stop();
    const logs = await recordsOfAll(tc, last);
    for (const log of logs) expect(log).toEqual(logs[0]);
    // Every acknowledged entry is there exactly once, at its index; no doomed entry survived.
    const texts = logs[0]!.map((r) => Buffer.from(r.record, 'base64').subarray(48).toString());
    for (const [index, text] of all) expect(texts[index - 1]).toBe(text);
    expect(texts.filter((t) => t.startsWith('doomed')).length).toBe(0);
    expect(new Set(texts.filter((t) => t !== '')).size).toBe(texts.filter((t) => t !== '').length);
  });

  it('a restart of all three replicas keeps the log and the commit index', async () => {
    tc = await startCluster();
    await waitForLeader(tc.client, 20_000);
    const { acked, last } = await appendAndCommit(tc, 100, 'r', {}, 'all to commit');
    for (const id of tc.cluster.ids) await tc.cluster.kill(id, 'SIGTERM');
    for (const id of tc.cluster.ids) await tc.cluster.startServer(id);
    const views = await viewCluster(tc.client);
    for (const v of views) expect(v.commitIndex).toBeGreaterThanOrEqual(last);
    await waitForLeader(tc.client, 20_000);
    for (const [index, text] of acked) expect((await tc.client.read(index))?.payload.toString()).toBe(text);
    const next = await tc.client.append(Buffer.from('after restart'));
    expect(next.index).toBeGreaterThan(last);
  });

  it('a follower paused long enough to fall far behind catches up by itself', async () => {
    tc = await startCluster();
    const leader = await waitForLeader(tc.client, 20_000);
    const follower = tc.cluster.ids.find((id) => id !== leader.id)!;
    await tc.cluster.kill(follower, 'SIGSTOP');
    let acked = 0;
    for (let round = 0; round < 10; round++) acked += (await appendMany(tc, 500, `lag${round}`)).size;
    expect(acked).toBe(5000);
    const lead = (await viewCluster(tc.client)).find((v) => v.role === 'leader')!;
    expect(lead.followers?.[follower]?.lag).toBeGreaterThanOrEqual(5000);
    await tc.cluster.kill(follower, 'SIGCONT');
    await waitUntil(() => allCommitted(tc!, lead.lastIndex!), 'the paused follower to catch up');
  });

  it('garbage on the Raft and client ports closes only those connections; the cluster keeps serving', async () => {
    tc = await startCluster();
    await waitForLeader(tc.client, 20_000);
    await tc.client.append(Buffer.from('before garbage'));
    const targets = [...tc.cluster.servers.values()].flatMap((s) => [s.raft, s.client]);
    for (const target of targets) {
      const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
      for (const garbage of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 1]), Buffer.from([10, 0, 0, 0, 1, 16, 0, 0, 0, 0, 0, 0, 9, 9])]) {
        await new Promise<void>((resolve) => {
          const socket = net.connect(port, host, () => socket.write(garbage));
          socket.on('close', () => resolve());
          socket.on('error', () => resolve());
          setTimeout(() => socket.destroy(), 2000);
        });
      }
    }
    for (const id of tc.cluster.ids) expect(tc.cluster.isRunning(id)).toBe(true);
    const ack = await tc.client.append(Buffer.from('after garbage'));
    expect((await tc.client.read(ack.index))?.payload.toString()).toBe('after garbage');
  });
});
