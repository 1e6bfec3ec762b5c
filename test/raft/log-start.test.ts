/**
 * Catch-up beyond the leader's first index (docs/RAFT.md, "Log start"): a
 * follower behind the leader's compacted prefix is reset to the leader's log
 * start (with an application snapshot in chunks, one in flight, resumable) and
 * then caught up by ordinary appends.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStorage, type LogStartMessage, type Message, type RaftConfig } from '../../src/raft/index.js';
import { TestCluster } from './harness.js';

function tickUntil(c: TestCluster, pred: () => boolean, max = 2000, drop: (m: Message) => boolean = () => false): number {
  for (let i = 0; i < max; i++) {
    if (pred()) return i;
    for (const id of c.ids) c.tick(id);
    c.deliverAll(drop);
  }
  throw new Error('tickUntil: condition not reached');
}

function blob(size: number, version: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 13 + version) & 0xff;
  return b;
}

/** a leads, b misses entries 2..11, a compacts to 10 (first index 10), b comes back. */
function behind(cfg: Partial<RaftConfig> = {}): TestCluster {
  const c = new TestCluster(['a', 'b', 'c'], cfg);
  c.elect('a');
  c.isolate('b');
  for (let i = 0; i < 10; i++) c.propose('a', `e${i}`);
  c.deliverAll();
  expect(c.core('a').appliedIndex).toBe(11);
  c.node('a').compact(10);
  c.heal();
  return c;
}

function sameLog(c: TestCluster, x: string, y: string, from: number): void {
  const a = c.core(x);
  const b = c.core(y);
  expect(b.lastIndex).toBe(a.lastIndex);
  const ea = a.entries(from, a.lastIndex + 1)!;
  const eb = b.entries(from, b.lastIndex + 1)!;
  expect(eb.map((e) => `${e.index}/${e.term}`)).toEqual(ea.map((e) => `${e.index}/${e.term}`));
}

describe('log start (catch-up beyond the first index)', () => {
  it('resets a follower behind the leader\'s first index to the leader\'s log start, then appends the rest', () => {
    const c = behind();
    const posA = c.node('a').live.startPos();
    c.propose('a', 'more');
    tickUntil(c, () => c.core('b').lastIndex === c.core('a').lastIndex && c.core('b').commitIndex === c.core('a').commitIndex, 400);
    const resets = c.node('b').readies.flatMap((r) => (r.logReset === null ? [] : [r.logReset]));
    expect(resets).toHaveLength(1);
    expect(resets[0]!.at).toEqual({ index: 9, term: 1, pos: posA });
    expect(c.node('b').durable.firstIndex()).toBe(10);
    expect(c.node('b').durable.term(9)).toBe(1);
    expect(c.node('b').live.posOf(12)).toBe(c.node('a').live.posOf(12));
    sameLog(c, 'a', 'b', 10);
    expect(c.node('a').readies.flatMap((r) => r.needsCatchUp)).toEqual([]);
    expect(c.core('a').status().progress['b']!.state).toBe('replicate');
    expect(c.core('a').status().progress['b']!.match).toBe(c.core('a').lastIndex);
    // b never applied 2..9 (the snapshot stands for them), it applied 10.. as usual.
    expect(c.node('b').applied.map((e) => e.index).filter((i) => i > 1)).toEqual([10, 11, 12]);
  });

  it('sends the application snapshot in chunks, one in flight, and resumes at the offset the follower holds', () => {
    const snap = blob(1000, 7);
    const c = behind({ appSnapshot: () => ({ version: 7, data: snap }), snapshotChunkBytes: 128 });
    const sent: LogStartMessage[] = [];
    let dropped = 0;
    c.observer = (m) => {
      if (m.type === 'logStart') sent.push(m);
    };
    c.propose('a', 'more');
    // Lose the 4th chunk once: the heartbeat answer makes a re-send it at the same offset.
    tickUntil(c, () => c.core('b').lastIndex === c.core('a').lastIndex, 600, (m) => {
      if (m.type === 'logStart' && sent.length === 4 && dropped === 0) {
        dropped++;
        return true;
      }
      return false;
    });
    expect(dropped).toBe(1);
    const resets = c.node('b').readies.flatMap((r) => (r.logReset === null ? [] : [r.logReset]));
    expect(resets).toHaveLength(1);
    expect(Buffer.from(resets[0]!.snapshot).equals(Buffer.from(snap))).toBe(true);
    const offsets = sent.map((m) => m.offset);
    expect(offsets.slice(0, 4)).toEqual([0, 128, 256, 384]);
    expect(offsets[4]).toBe(384); // resumed, not restarted
    expect(Math.max(...sent.map((m) => m.chunk.byteLength))).toBe(128);
    sameLog(c, 'a', 'b', 10);
  });

  it('a follower restarted in the middle of a transfer gets the snapshot again from 0, in the leader\'s current version', () => {
    let version = 1;
    const c = behind({ appSnapshot: () => ({ version, data: blob(300, version) }), snapshotChunkBytes: 100 });
    const sent: LogStartMessage[] = [];
    c.observer = (m) => {
      if (m.type === 'logStart') sent.push(m);
    };
    c.propose('a', 'more');
    // Only the first chunk arrives, then b crashes (its partial snapshot is gone) and the snapshot changes.
    c.deliverAll((m) => m.type === 'logStart' && m.offset > 0);
    expect(c.core('a').status().progress['b']!.state).toBe('reset');
    expect(c.core('a').status().progress['b']!.reset).toEqual({ index: 9, snapshotOffset: 100, snapshotSize: 300 });
    version = 2;
    c.restart('b');
    tickUntil(c, () => c.core('b').lastIndex === c.core('a').lastIndex, 800);
    const resets = c.node('b').readies.flatMap((r) => (r.logReset === null ? [] : [r.logReset]));
    expect(resets).toHaveLength(1);
    expect(Buffer.from(resets[0]!.snapshot).equals(Buffer.from(blob(300, 2)))).toBe(true);
    const v2 = sent.filter((m) => m.snapshotVersion === 2).map((m) => m.offset);
    expect(v2.slice(0, 3)).toEqual([0, 100, 200]);
    sameLog(c, 'a', 'b', 10);
  });

  it('a delayed duplicate logStart after the catch-up erases nothing', () => {
    const c = behind();
    const kept: Message[] = [];
    c.observer = (m) => {
      if (m.type === 'logStart') kept.push({ ...m });
    };
    c.propose('a', 'more');
    tickUntil(c, () => c.core('b').lastIndex === c.core('a').lastIndex, 400);
    c.propose('a', 'after');
    c.deliverAll();
    const before = c.core('b').lastIndex;
    expect(kept.length).toBeGreaterThan(0);
    c.queue.push(...kept);
    c.deliverAll();
    expect(c.core('b').lastIndex).toBe(before);
    expect(c.node('b').readies.filter((r) => r.logReset !== null)).toHaveLength(1);
    sameLog(c, 'a', 'b', 10);
  });

  it('a follower restarted with an empty disk is reset and caught up', () => {
    const c = behind();
    c.propose('a', 'more');
    tickUntil(c, () => c.core('b').lastIndex === c.core('a').lastIndex, 400);
    c.node('c').crash();
    c.node('c').durable = new MemoryStorage();
    c.node('c').start();
    c.propose('a', 'again');
    tickUntil(c, () => c.core('c').lastIndex === c.core('a').lastIndex && c.core('c').commitIndex === c.core('a').commitIndex, 800);
    expect(c.node('c').durable.firstIndex()).toBe(10);
    sameLog(c, 'a', 'c', 10);
  });
});
