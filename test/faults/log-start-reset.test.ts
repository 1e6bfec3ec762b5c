/**
 * Catch-up beyond retention across processes (issue 12; docs/RAFT.md, "Log start"): a
 * follower that needs entries every other replica has removed is reset to the leader's
 * log start and then caught up by appends, ending byte-identical (same pos, same bytes)
 * with the leader on the retained range. The prefix is removed offline
 * (SegmentedLog.truncatePrefix on stopped replicas), so the test does not depend on a
 * retention policy. Small segments (64 KiB) make the prefix many segments long.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { SegmentedLog } from '../../dist/storage/index.js';
import { appendMany, committedEverywhere, leaveBehind as leaveBehindOthers, records } from '../support/leave-behind.js';
import { replicaDir, startCluster, waitForLeader, waitUntil, type TestCluster } from '../support/process-cluster.js';
import { prng, testSeed } from '../support/tmp.js';

const SEGMENT_BYTES = 64 * 1024;
let tc: TestCluster | undefined;
afterEach(async () => {
  await tc?.close();
  tc = undefined;
});

/**
 * Leaves `follower` behind what the two others removed (leave-behind.ts). Returns the last
 * index and the new first index.
 */
async function leaveBehind(t: TestCluster, follower: string): Promise<{ last: number; first: number }> {
  const { last, firsts } = await leaveBehindOthers(t, follower, SEGMENT_BYTES);
  expect(firsts[0]).toBeGreaterThan(150); // the follower (stopped near 100) needs removed entries
  return { last, first: Math.max(...firsts) };
}

async function expectIdentical(t: TestCluster, follower: string, last: number): Promise<void> {
  await t.cluster.stop();
  const leaderish = t.cluster.ids.find((id) => id !== follower)!;
  const f = await records(replicaDir(t, follower), 1, last);
  const l = await records(replicaDir(t, leaderish), f.first, last);
  expect(f.recs.length).toBeGreaterThan(0);
  expect(f.recs[f.recs.length - 1]!.index).toBe(last);
  expect(f.recs).toEqual(l.recs.filter((r) => r.index >= f.first));
}

describe('catch-up beyond retention through a log reset (multi-process)', () => {
  it('a follower stopped before the others removed what it needs is reset and ends byte-identical with them', async () => {
    tc = await startCluster({ segmentSizeBytes: SEGMENT_BYTES });
    await waitForLeader(tc.client, 20_000);
    const follower = 'n2';
    const { last, first } = await leaveBehind(tc, follower);
    await tc.cluster.startServer(follower);
    const more = await appendMany(tc, 20, 'after');
    await waitUntil(() => committedEverywhere(tc!, more), 'the follower to catch up', 40_000);
    expect(tc.logs.some((l) => l.startsWith(`${follower} |`) && l.includes('log reset'))).toBe(true);
    await expectIdentical(tc, follower, more);
    const f = await records(replicaDir(tc, follower), 1, more);
    expect(f.first).toBeGreaterThanOrEqual(first);
  }, 120_000);

  it('a brand-new empty directory under the same id catches up the same way', async () => {
    tc = await startCluster({ segmentSizeBytes: SEGMENT_BYTES });
    await waitForLeader(tc.client, 20_000);
    const follower = 'n1';
    await leaveBehind(tc, follower);
    rmSync(replicaDir(tc, follower), { recursive: true, force: true });
    await tc.cluster.startServer(follower);
    const more = await appendMany(tc, 20, 'after');
    await waitUntil(() => committedEverywhere(tc!, more), 'the new replica to catch up', 40_000);
    expect(tc.logs.some((l) => l.startsWith(`${follower} |`) && l.includes('log reset'))).toBe(true);
    await expectIdentical(tc, follower, more);
  }, 120_000);

  it('kill -9 of the follower at random moments of its catch-up: it still ends byte-identical', async () => {
    const seed = testSeed('log-start-reset');
    const rand = prng(seed);
    tc = await startCluster({ segmentSizeBytes: SEGMENT_BYTES });
    await waitForLeader(tc.client, 20_000);
    const follower = 'n0';
    await leaveBehind(tc, follower);
    const { last, first } = await leaveBehind(tc, follower);
    const dir = replicaDir(tc, follower);
    const states: string[] = [];
    for (let round = 0; round < 3; round++) {
      await tc.cluster.startServer(follower);
      await new Promise((r) => setTimeout(r, Math.floor(rand() * 300)));
      await tc.cluster.kill(follower, 'SIGKILL');
      // After each kill: the old log or the new start, never a mix (opened as the next
      // start opens it, which finishes a reset whose commit point was durable).
      const log = await SegmentedLog.open({ dir });
      try {
        const f = log.firstIndex;
        const l = log.lastIndex;
        let expected = f;
        for (const e of log.entries(f)) expect(e.index, `contiguous entries (seed ${seed})`).toBe(expected++);
        expect(expected - 1).toBe(l);
        // The old log stopped before what the others removed; the new start begins at or
        // after their first index (no entries are appended meanwhile but the leaders' no-ops).
        const old = f === 1 && l < first;
        const reset = f >= first;
        expect(old || reset, `round ${round}: first ${f}, last ${l} is neither the old log nor the new start (seed ${seed})`).toBe(true);
        states.push(old ? 'old' : l < f ? 'new start, empty' : l < last ? 'new start, catching up' : 'caught up');
      } finally {
        await log.close();
      }
    }
    console.log(`kill -9 of the follower during catch-up (seed ${seed}): ${states.join(', ')}`);
    await tc.cluster.startServer(follower);
    const more = await appendMany(tc, 20, 'after');
    await waitUntil(() => committedEverywhere(tc!, more), `the follower to catch up (seed ${seed})`, 40_000);
    // A reset is proven by the directory (a state other than 'old' was seen after a kill) or,
    // when every kill found the old log, by the line of the final start's reset. A line logged
    // just before a SIGKILL may never reach stdout, so it is not required when the disk shows it.
    const resetOnDisk = states.some((s) => s !== 'old');
    const resetLogged = tc.logs.some((l) => l.startsWith(`${follower} |`) && l.includes('log reset'));
    expect(resetOnDisk || resetLogged, `a log reset (seed ${seed}; states ${states.join(', ')})`).toBe(true);
    await expectIdentical(tc, follower, more);
  }, 150_000);
});
