/**
 * Multi-process setup shared by the log-start tests (test/faults/log-start-reset,
 * test/faults/app-snapshot-kill): a follower left behind what every other replica removed,
 * and the stopped replicas' records to compare afterwards.
 */
import { SegmentedLog } from '../../dist/storage/index.js';
import { replicaDir, viewCluster, waitForLeader, waitUntil, type TestCluster } from './process-cluster.js';
import { appendMany as appendPayloads, committedEverywhere } from './cluster-load.js';

export { committedEverywhere };

/** Appends `count` 700-byte payloads tagged `tag`, 50 at a time; returns the highest acked index. */
export async function appendMany(t: TestCluster, count: number, tag: string): Promise<number> {
  const acked = await appendPayloads(t, count, tag, { sizeBytes: 700, batch: 50 });
  return Math.max(0, ...acked.keys());
}

/** Records [from, to] of a stopped replica: pos and bytes; `first` is its log's first index. */
export async function records(dir: string, from: number, to: number): Promise<{ first: number; recs: Array<{ index: number; pos: number; b64: string }> }> {
  const log = await SegmentedLog.open({ dir, readOnly: true });
  try {
    const recs: Array<{ index: number; pos: number; b64: string }> = [];
    for (const e of log.entries(from)) {
      if (e.index > to) break;
      recs.push({ index: e.index, pos: e.pos, b64: e.record.toString('base64') });
    }
    return { first: log.firstIndex, recs };
  } finally {
    await log.close();
  }
}


/**
 * Stops `follower` after 100 appends, appends 400 more, stops the two others once they
 * committed them, drops every whole segment below (last - 20) from their logs offline
 * (SegmentedLog.truncatePrefix with `segmentSizeBytes`), restarts them and waits for a
 * leader. The follower stays down. Returns the last acked index and the others' new first
 * indexes (in the order of t.cluster.ids) for the caller to check.
 */
export async function leaveBehind(t: TestCluster, follower: string, segmentSizeBytes: number): Promise<{ last: number; firsts: number[] }> {
  await appendMany(t, 100, 'early');
  await t.cluster.kill(follower, 'SIGTERM');
  const last = await appendMany(t, 400, 'while-down');
  const others = t.cluster.ids.filter((id) => id !== follower);
  await waitUntil(async () => (await viewCluster(t.client)).filter((v) => (v.commitIndex ?? 0) >= last).length >= 2, 'the others to commit');
  for (const id of others) await t.cluster.kill(id, 'SIGTERM');
  const firsts: number[] = [];
  for (const id of others) {
    const log = await SegmentedLog.open({ dir: replicaDir(t, id), segmentSizeBytes });
    try {
      firsts.push(await log.truncatePrefix(last - 20));
    } finally {
      await log.close();
    }
  }
  for (const id of others) await t.cluster.startServer(id);
  await waitForLeader(t.client, 20_000);
  return { last, firsts };
}
