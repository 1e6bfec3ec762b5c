/**
 * Self-healing replicas (issue 16), three server processes:
 *  - a stopped follower's committed records are damaged before its checkpoint (bit flips in
 *    two records, a zeroed 64 KiB range); started with no flags, it repairs them in place
 *    from its peers before it serves, verify is clean, and every acknowledged entry is
 *    present and byte-identical on all three;
 *  - the same damage when no peer is reachable: it refuses to start, naming the indexes;
 *  - with --scrub-bytes-per-sec, damage injected into the running leader's and a running
 *    follower's segment is found by the scrub and repaired; the damaged leader steps down.
 * Repair time and bytes fetched are printed from the servers' own log lines.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeSync, openSync, writeSync } from 'node:fs';
import { SegmentedLog, verifyLog } from '../../dist/storage/index.js';
import { startCluster, replicaDir, waitForLeader, waitUntil, type TestCluster } from '../support/process-cluster.js';
import { appendAndCommit, recordsOfAll } from '../support/cluster-load.js';
import { flipBit, segmentPath } from '../support/log-files.js';

let tc: TestCluster | undefined;
afterEach(async () => {
  await tc?.close();
  tc = undefined;
});

/** pos and size of each index's record in a stopped replica's log. */
async function where(dir: string, indexes: number[]): Promise<Map<number, { pos: number; size: number }>> {
  const log = await SegmentedLog.open({ dir, readOnly: true });
  try {
    return new Map(indexes.map((i) => [i, { pos: log.posOf(i), size: log.read(i).record.byteLength }]));
  } finally {
    await log.close();
  }
}

function zero(path: string, offset: number, bytes: number): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(bytes), 0, bytes, offset);
  closeSync(fd);
}

/** Damage a stopped replica: bit flips in the bodies of records 40 and 41, and `zeroBytes` of zeros from record 200 on. Returns the damaged indexes. */
async function damage(dir: string, zeroBytes = 64 * 1024): Promise<{ flipped: number[]; zeroedFrom: number }> {
  const at = await where(dir, [40, 41, 200]);
  flipBit(segmentPath(dir, 0), at.get(40)!.pos + 60, 2);
  flipBit(segmentPath(dir, 0), at.get(41)!.pos + at.get(41)!.size - 1, 7);
  zero(segmentPath(dir, 0), at.get(200)!.pos, zeroBytes);
  return { flipped: [40, 41], zeroedFrom: 200 };
}

function figures(tc: TestCluster, id: string): string[] {
  return tc.logs.filter((l) => l.startsWith(`${id} |`) && /repair: log intact again after|start-up repair failed|repaired in place from|damaged record/.test(l));
}

describe('self-healing replicas (issue 16)', () => {
  it.each(['follower', 'leader'] as const)('a stopped %s damaged before its checkpoint repairs in place from its peers at start-up and loses nothing', async (which) => {
    tc = await startCluster();
    const leader = await waitForLeader(tc.client, 20_000);
    const { acked, last } = await appendAndCommit(tc, 1000, 'a', { sizeBytes: 2000, batch: 50 }, 'all replicas to commit'); // about 2 MiB: room for a zeroed 1 MiB range
    const f = which === 'leader' ? leader.id! : tc.cluster.ids.find((id) => id !== leader.id)!;
    await tc.cluster.kill(f, 'SIGTERM'); // a clean stop: its checkpoint covers every record
    const dir = replicaDir(tc, f);
    const { zeroedFrom } = await damage(dir, 1024 * 1024);
    expect((await verifyLog(dir)).clean).toBe(false);

    const started = performance.now();
    await tc.cluster.startServer(f); // no flags
    const startMs = performance.now() - started;
    const lines = figures(tc, f);
    console.log(`[self-repair] ${f} started in ${startMs.toFixed(0)} ms after repairing:\n  ${lines.map((l) => l.slice(0, 300)).join('\n  ')}`);
    expect(lines.some((l) => l.includes('repair: log intact again after'))).toBe(true);
    expect(lines.some((l) => /record\(s\) repaired in place from n\d: indexes 40-41, 200-\d+/.test(l) && l.includes(`, ${zeroedFrom}-`)), lines.join('\n')).toBe(true);
    const all = await tc.client.statusAll();
    const mine = all.find((r) => (r.status as { id?: string } | undefined)?.id === f)!.status as { repair?: { damagedNow: number; repaired: number; bytesFetched: number } };
    console.log(`[self-repair] ${f} status.repair ${JSON.stringify(mine.repair)}`);
    expect(mine.repair?.damagedNow).toBe(0);
    expect(mine.repair?.repaired).toBeGreaterThan(2);
    expect(mine.repair?.bytesFetched).toBeGreaterThan(1024 * 1024);

    const { acked: more, last: end } = await appendAndCommit(tc, 100, 'b', { sizeBytes: 50, batch: 50 }, 'all replicas to commit after the repair');
    await tc.cluster.stop();
    expect((await verifyLog(dir)).clean).toBe(true);
    const [a, b, c] = await recordsOfAll(tc, end);
    expect(a!.length).toBe(end);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    for (const [index, text] of [...acked, ...more]) expect(Buffer.from(a![index - 1]!.record, 'base64').subarray(48).toString()).toBe(text);
  });

  it('two stopped followers damaged at the same and at different indexes both repair (from the leader and from each other)', async () => {
    tc = await startCluster();
    const leader = await waitForLeader(tc.client, 20_000);
    await appendAndCommit(tc, 1000, 'a', { sizeBytes: 200, batch: 50 }, 'all replicas to commit');
    const [f1, f2] = tc.cluster.ids.filter((id) => id !== leader.id) as [string, string];
    await Promise.all([f1, f2].map((id) => tc!.cluster.kill(id, 'SIGTERM')));
    const at = await where(replicaDir(tc, f1), [40, 500, 700]);
    flipBit(segmentPath(replicaDir(tc, f1), 0), at.get(40)!.pos + 60, 3); // the same entry on two of three
    flipBit(segmentPath(replicaDir(tc, f2), 0), at.get(40)!.pos + 90, 5);
    flipBit(segmentPath(replicaDir(tc, f1), 0), at.get(500)!.pos + 70, 0); // different entries
    flipBit(segmentPath(replicaDir(tc, f2), 0), at.get(700)!.pos + 70, 6);
    await Promise.all([f1, f2].map((id) => tc!.cluster.startServer(id)));
    for (const id of [f1, f2]) console.log(`[self-repair] ${id}:\n  ${figures(tc, id).map((l) => l.slice(0, 300)).join('\n  ')}`);
    const { last: end } = await appendAndCommit(tc, 50, 'b', { sizeBytes: 50, batch: 50 }, 'all replicas to commit after the repairs');
    await tc.cluster.stop();
    for (const id of tc.cluster.ids) expect((await verifyLog(replicaDir(tc, id))).clean, id).toBe(true);
    const [a, b, c] = await recordsOfAll(tc, end);
    expect(a!.length).toBe(end);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });

  it('with no peer reachable the damaged replica refuses to start, naming the damaged indexes', async () => {
    tc = await startCluster({ serverArgs: ['--repair-timeout-ms', '1500'] });
    await waitForLeader(tc.client, 20_000);
    const { last } = await appendAndCommit(tc, 1000, 'a', { sizeBytes: 200, batch: 50 }, 'all replicas to commit');
    await Promise.all(tc.cluster.ids.map((id) => tc!.cluster.kill(id, 'SIGTERM')));
    const f = tc.cluster.ids[0]!;
    await damage(replicaDir(tc, f));
    const error = await tc.cluster.startServer(f).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    const text = `${error?.message ?? ''}\n${tc.logs.filter((l) => l.startsWith(`${f} |`)).slice(-20).join('\n')}`;
    expect(error, text).toBeDefined();
    expect(text).toContain('start-up repair failed');
    expect(text).toMatch(/damaged indexes 40 \(/);
    // Nothing was cut.
    const log = await SegmentedLog.open({ dir: replicaDir(tc, f), readOnly: true });
    expect(log.lastIndex).toBeGreaterThanOrEqual(last);
    await log.close();
  });

  it('the scrub finds damage in the running leader and a running follower and repairs both; the damaged leader steps down', async () => {
    tc = await startCluster({ serverArgs: ['--scrub-bytes-per-sec', String(4 * 1024 * 1024)] });
    const leader = await waitForLeader(tc.client, 20_000);
    await appendAndCommit(tc, 600, 'a', { sizeBytes: 200, batch: 50 }, 'all replicas to commit');
    const f = tc.cluster.ids.find((id) => id !== leader.id)!;
    // Positions are the same on every replica (byte-identical logs); read them from a copy-free read-only open.
    const at = await where(replicaDir(tc, leader.id!), [100, 300]);
    flipBit(segmentPath(replicaDir(tc, leader.id!), 0), at.get(100)!.pos + 70, 1); // through the file: the server's mapping sees it
    flipBit(segmentPath(replicaDir(tc, f), 0), at.get(300)!.pos + 80, 4);
    await waitUntil(() => tc!.logs.some((l) => l.startsWith(`${leader.id} |`) && l.includes('scrub: index 100 repaired')), 'the leader to repair index 100', 60_000);
    await waitUntil(() => tc!.logs.some((l) => l.startsWith(`${f} |`) && l.includes('scrub: index 300 repaired')), 'the follower to repair index 300', 60_000);
    const stepped = tc.logs.find((l) => l.startsWith(`${leader.id} |`) && l.includes('"msg":"role changed"') && l.includes('"role":"follower"'));
    expect(stepped, 'the damaged leader stepped down').toBeDefined();
    for (const id of [leader.id!, f]) console.log(`[self-repair] scrub on ${id}:\n  ${figures(tc, id).map((l) => l.slice(0, 300)).join('\n  ')}`);
    const { last: end } = await appendAndCommit(tc, 50, 'b', { sizeBytes: 50, batch: 50 }, 'all replicas to commit after the repairs');
    await tc.cluster.stop();
    for (const id of tc.cluster.ids) expect((await verifyLog(replicaDir(tc, id))).clean, id).toBe(true);
    const [a, b, c] = await recordsOfAll(tc, end);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });
});
