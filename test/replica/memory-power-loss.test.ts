/**
 * Regression (seen as a flaky `torture` memory-mode whole-cluster power loss): in memory
 * mode a quorum acknowledges from the page cache, so a power loss of every replica can lose
 * entries that one replica had both on disk and recorded as committed. The others elect a
 * leader without them and write other entries at those indexes. The replica that kept them
 * restarted with its persisted commit index and its Raft core refused to truncate
 * "committed" entries: it stopped for good. In memory mode a replica does not trust its own
 * persisted commit index after a restart (the leader tells it again), so it follows the new
 * leader's log; the loss is the documented memory-mode window.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryCluster } from '../support/memory-cluster.js';
import { SegmentedLog } from '../../src/storage/index.js';

let cluster: MemoryCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function cutTail(dir: string, keepThrough: number): Promise<void> {
  const log = await SegmentedLog.open({ dir });
  try {
    await log.truncateSuffix(keepThrough + 1);
    await log.meta.save({ commitIndex: Math.min(log.meta.hardState.commitIndex, keepThrough) });
    await log.flush();
  } finally {
    await log.close();
  }
}

describe('memory mode: a whole-cluster power loss that one replica survived with more', () => {
  it('the replica that kept entries the quorum lost follows the new leader instead of stopping', async () => {
    const c = (cluster = new MemoryCluster(3, { durability: 'memory' }));
    await c.startAll();
    const first = await c.waitForLeader();
    for (let i = 0; i < 20; i++) await first.append(Buffer.from(`a${i}`));
    const committed = first.commitIndex;
    await c.waitFor(() => c.ids.every((id) => c.nodes.get(id)!.commitIndex === committed), 'every replica to hear the commit index');
    for (const id of c.ids) await c.stop(id);
    // n2 keeps everything (and its commit index); n0 and n1 lose the last 10 entries.
    const kept = committed - 10;
    await cutTail(c.dirs.get('n0')!, kept);
    await cutTail(c.dirs.get('n1')!, kept);
    await c.start('n0');
    await c.start('n1');
    const leader = await c.waitForLeader();
    for (let i = 0; i < 15; i++) await leader.append(Buffer.from(`b${i}`));
    const n2 = await c.start('n2');
    const errors: Error[] = [];
    n2.on('error', (e) => errors.push(e));
    await c.waitFor(() => n2.commitIndex >= leader.commitIndex && n2.lastIndex === leader.lastIndex, 'n2 to follow the new leader', 15_000);
    expect(errors).toEqual([]);
    expect(n2.closed).toBe(false);
    const payloads = (l: typeof n2) => l.readRange(1, { limit: 1000 }).map((e) => `${e.index}/${e.term}/${e.pos}/${Buffer.from(e.payload).toString()}`);
    expect(payloads(n2)).toEqual(payloads(leader));
  });
});
