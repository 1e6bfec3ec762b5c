/**
 * Zeros at the end of a stopped follower's log, after its durable checkpoint, that reach back
 * below its durable commit index (issue 16, docs/RAFT.md "Damaged replicas"): the records up
 * to the commit index were durable, so they are damage, repaired in place from the peers at
 * start-up with no flags; only what follows the commit index is a torn tail, cut and re-sent
 * by the leader. Before, the start was refused (entries missing below the commit index).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SegmentedLog, verifyLog } from '../../dist/storage/index.js';
import { encodeCheckpoint } from '../../dist/storage/meta-store.js';
import { startCluster, replicaDir, readRecords, waitForLeader, viewCluster, waitUntil, type TestCluster } from '../support/process-cluster.js';
import { segmentPath } from '../support/log-files.js';

let tc: TestCluster | undefined;
afterEach(async () => {
  await tc?.close();
  tc = undefined;
});

async function appendMany(tc: TestCluster, count: number, sizeBytes: number, tag: string): Promise<Map<number, string>> {
  const acked = new Map<number, string>();
  for (let batch = 0; batch < count; batch += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, count - batch) }, async (_, j) => {
        const text = `${tag}-${batch + j}-`.padEnd(sizeBytes, 'x');
        const ack = await tc.client.append(Buffer.from(text));
        acked.set(ack.index, text);
      }),
    );
  }
  return acked;
}

async function allCommitted(tc: TestCluster, index: number): Promise<boolean> {
  return (await viewCluster(tc.client)).every((v) => (v.commitIndex ?? 0) >= index);
}

describe('self-healing replicas: zeros to the end of the log below the commit index (issue 16)', () => {
  it('a stopped follower whose log is zeroed from below its commit index to its end repairs those records from its peers and loses nothing', async () => {
    tc = await startCluster();
    const leader = await waitForLeader(tc.client, 20_000);
    const acked = await appendMany(tc, 600, 200, 'a');
    const last = Math.max(...acked.keys());
    await waitUntil(() => allCommitted(tc!, last), 'all replicas to commit');
    const f = tc.cluster.ids.find((id) => id !== leader.id)!;
    await tc.cluster.kill(f, 'SIGTERM');
    const dir = replicaDir(tc, f);
    // Its durable commit index 20 entries below its end, as when the crash came before the
    // commit index caught up: those last 20 are past the commit point (a torn tail).
    const writable = await SegmentedLog.open({ dir });
    const commitIndex = writable.lastIndex - 20;
    await writable.meta.save({ commitIndex });
    await writable.close();
    const log = await SegmentedLog.open({ dir, readOnly: true });
    expect(log.meta.hardState.commitIndex).toBe(commitIndex);
    const from = commitIndex - 50;
    const checkpointAt = 100;
    const checkpoint = { index: checkpointAt, pos: log.posOf(checkpointAt + 1), term: log.term(checkpointAt) };
    const zeroFrom = log.posOf(from);
    const end = log.posOf(log.lastIndex) + log.read(log.lastIndex).record.byteLength;
    await log.close();
    expect(from).toBeGreaterThan(checkpointAt);
    // As if the process died with its checkpoint at 100 and its pages from `from` on never written.
    writeFileSync(join(dir, 'checkpoint'), encodeCheckpoint(checkpoint));
    const fd = openSync(segmentPath(dir, 0), 'r+');
    writeSync(fd, Buffer.alloc(end - zeroFrom), 0, end - zeroFrom, zeroFrom);
    closeSync(fd);

    await tc.cluster.startServer(f); // no flags
    const lines = tc.logs.filter((l) => l.startsWith(`${f} |`) && /at the end of the log|repair: log intact again|repaired in place from/.test(l));
    console.log(`[self-repair-tail] ${f}:\n  ${lines.map((l) => l.slice(0, 300)).join('\n  ')}`);
    expect(lines.some((l) => l.includes(`damaged record(s) ${from}..${commitIndex} at the end of the log, at or below the durable commit index`)), lines.join('\n')).toBe(true);
    expect(lines.some((l) => l.includes('repair: log intact again after'))).toBe(true);

    const more = await appendMany(tc, 50, 50, 'b');
    const endIndex = Math.max(...more.keys());
    await waitUntil(() => allCommitted(tc!, endIndex), 'all replicas to commit after the repair');
    await tc.cluster.stop();
    expect((await verifyLog(dir)).clean).toBe(true);
    const [a, b, c] = await Promise.all(tc.cluster.ids.map((id) => readRecords(replicaDir(tc!, id), endIndex)));
    expect(a!.length).toBe(endIndex);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    for (const [index, text] of [...acked, ...more]) expect(Buffer.from(a![index - 1]!.record, 'base64').subarray(48).toString()).toBe(text);
  });
});
