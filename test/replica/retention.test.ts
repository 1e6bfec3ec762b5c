/**
 * Retention in one process: the prefix it removes stays below the commit index (and what
 * is durable), the Raft core's first index follows it through the storage adapter, and
 * the leader's status shows a follower that now needs removed entries as in catch-up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SegmentedLog } from '../../src/index.js';
import { RaftCore } from '../../src/raft/index.js';
import { SegmentedLogStorage } from '../../src/replica/log-adapter.js';
import { checkRetentionPolicy, keepFromIndex } from '../../src/replica/retention.js';
import { MemoryCluster } from '../support/memory-cluster.js';
import { makeTempDir } from '../support/tmp.js';

let cluster: MemoryCluster | undefined;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  for (const c of cleanups.splice(0)) c();
});

const SEGMENT = 64 * 1024;
const payload = (i: number): Buffer => Buffer.alloc(4000, i & 0xff);

describe('keepFromIndex', () => {
  it('is the lowest of commit, durable, lastIndex - minEntries + 1 and every held match + 1', () => {
    expect(keepFromIndex({ commitIndex: 100, durableIndex: 90, lastIndex: 120, minEntries: 0, heldMatches: [] })).toBe(90);
    expect(keepFromIndex({ commitIndex: 80, durableIndex: 90, lastIndex: 120, minEntries: 0, heldMatches: [] })).toBe(80);
    expect(keepFromIndex({ commitIndex: 100, durableIndex: 100, lastIndex: 120, minEntries: 50, heldMatches: [] })).toBe(71);
    expect(keepFromIndex({ commitIndex: 100, durableIndex: 100, lastIndex: 120, minEntries: 0, heldMatches: [95, 40] })).toBe(41);
    expect(keepFromIndex({ commitIndex: 0, durableIndex: 0, lastIndex: 0, minEntries: 10, heldMatches: [] })).toBe(1);
  });

  it('a policy without maxBytes and maxAgeMs removes nothing; bad values are RangeErrors', () => {
    expect(checkRetentionPolicy({ minEntries: 5 })).toBeUndefined();
    expect(checkRetentionPolicy({ maxBytes: 10 })?.holdForFollowersMs).toBe(60_000);
    expect(() => checkRetentionPolicy({ maxBytes: -1 })).toThrow(RangeError);
    expect(() => checkRetentionPolicy({ maxAgeMs: 1.5 })).toThrow(RangeError);
  });
});

describe('retention and the Raft core', () => {
  it("the core's first index follows truncatePrefix through the adapter, and the term before it stays answerable", async () => {
    const t = makeTempDir('raftledger-ret-core-');
    cleanups.push(t.cleanup);
    const log = await SegmentedLog.open({ dir: t.dir, segmentSizeBytes: SEGMENT, preallocate: false });
    for (let i = 1; i <= 100; i++) log.append(payload(i), i <= 40 ? 1 : 2);
    await log.flush();
    const storage = new SegmentedLogStorage(log);
    const core = new RaftCore({ id: 'a', peers: ['a'], storage });
    expect(core.firstIndex).toBe(1);
    const first = await log.applyRetention({ maxBytes: 0, keepFromIndex: 60 });
    expect(first).toBeGreaterThan(1);
    expect(first).toBeLessThanOrEqual(60);
    expect(core.firstIndex).toBe(first);
    expect(storage.firstIndex()).toBe(first);
    expect(storage.term(first - 1)).toBe(first - 1 <= 40 ? 1 : 2);
    expect(storage.term(first - 2)).toBeUndefined();
    expect(core.entries(first - 1, first + 1)).toBeNull();
    expect(core.entries(first, first + 1)![0]!.index).toBe(first);
    await log.close();
    // Persisted: a reopened log (and a core over it) starts at the same first index.
    const again = await SegmentedLog.open({ dir: t.dir });
    const core2 = new RaftCore({ id: 'a', peers: ['a'], storage: new SegmentedLogStorage(again) });
    expect(core2.firstIndex).toBe(first);
    expect(new SegmentedLogStorage(again).term(first - 1)).toBe(first - 1 <= 40 ? 1 : 2);
    await again.close();
  });
});

describe('Ledger retention', () => {
  it('never removes an entry at or above the commit index, even when the policy asks for everything', async () => {
    cluster = new MemoryCluster(3, { segmentSizeBytes: SEGMENT, minFreeBytes: 0, retention: { maxBytes: 0, holdForFollowersMs: 0, checkIntervalMs: 20 }, appendTimeoutMs: 60_000 });
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    for (let i = 0; i < 60; i++) await leader.append(payload(i));
    await cluster.waitFor(() => leader.status().firstIndex > 1, 'retention to remove committed segments');
    // Cut the leader off: what it appends now is never committed.
    cluster.isolated.add(leader.id);
    const commit = leader.commitIndex;
    const stuck = Array.from({ length: 80 }, (_, i) => leader.append(payload(1000 + i)).catch(() => undefined));
    await cluster.waitFor(() => leader.lastIndex >= commit + 80, 'uncommitted appends to be written');
    // 80 uncommitted entries of 4 KiB span several 64 KiB segments: rolls, each a retention check.
    // Give retention a few checks (timer and rolls).
    await new Promise((r) => setTimeout(r, 300));
    const s = leader.status();
    expect(s.commitIndex).toBe(commit);
    expect(s.firstIndex).toBeLessThanOrEqual(commit);
    for (let i = commit; i <= s.lastIndex; i++) expect(leader.read(i, { uncommitted: true })?.index).toBe(i);
    cluster.isolated.delete(leader.id);
    void stuck;
  });

  it("a follower that needs removed entries is brought back by a log-start reset; the leader's status shows firstIndex and firstPos", async () => {
    cluster = new MemoryCluster(3, { segmentSizeBytes: SEGMENT, minFreeBytes: 0, retention: { maxBytes: 2 * SEGMENT, holdForFollowersMs: 0, checkIntervalMs: 20 } });
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    const lagging = cluster.ids.find((id) => id !== leader.id)!;
    await cluster.stop(lagging);
    for (let i = 0; i < 200; i++) await leader.append(payload(i));
    await cluster.waitFor(() => leader.status().firstIndex > 1, 'retention on the leader');
    const s = leader.status();
    expect(s.firstPos).toBe(leader.read(s.firstIndex)!.pos);
    expect(s.firstPos % SEGMENT).toBe(0);
    expect(s.logBytes).toBeLessThanOrEqual(2 * SEGMENT + SEGMENT);
    expect(s.diskBytes).toBeGreaterThanOrEqual(s.logBytes);
    await cluster.start(lagging);
    // It needs entries the leader removed: the leader resets its log to the leader's start
    // (catchUp 'reset' while that runs) and ordinary appends do the rest.
    await cluster.waitFor(
      () => cluster!.nodes.get(lagging)!.status().firstIndex > 1 && leader.status().followers[lagging]?.match === leader.lastIndex,
      `${lagging} to be reset to the leader's log start and caught up`,
    );
    expect(leader.status().followers[lagging]!.catchUp).toBeUndefined();
    const other = cluster.ids.find((id) => id !== leader.id && id !== lagging)!;
    expect(leader.status().followers[other]!.catchUp).toBeUndefined();
  });

  it('holdForFollowersMs keeps what a recently active follower still needs', async () => {
    cluster = new MemoryCluster(3, { segmentSizeBytes: SEGMENT, minFreeBytes: 0, retention: { maxBytes: 2 * SEGMENT, holdForFollowersMs: 600_000, checkIntervalMs: 20 } });
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    await leader.append(payload(0));
    const lagging = cluster.ids.find((id) => id !== leader.id)!;
    await cluster.waitFor(() => leader.status().followers[lagging]?.active === true && leader.status().followers[lagging]!.match >= 1, 'the follower to be active');
    await new Promise((r) => setTimeout(r, 60)); // a retention check records it as active
    await cluster.stop(lagging);
    for (let i = 0; i < 200; i++) await leader.append(payload(i));
    await new Promise((r) => setTimeout(r, 200));
    const match = leader.status().followers[lagging]!.match;
    expect(leader.status().firstIndex).toBeLessThanOrEqual(match + 1);
    await cluster.start(lagging);
    await cluster.waitFor(() => cluster!.nodes.get(lagging)!.lastIndex >= leader.lastIndex, 'the held follower to catch up');
    expect(leader.status().followers[lagging]!.catchUp).toBeUndefined();
  });
});
