/**
 * Regression (found by `raftledger torture --faults disk`): a follower whose disk lost
 * entries it had acknowledged (a cut tail, a repaired corruption, a memory-mode power
 * loss) rejects the leader's appends with a hint below its old match index. The leader
 * treated those rejections as stale (rejected index <= match) and never backed up: the
 * follower stayed behind forever and the leader spun on it. Fixed in src/raft/raft.ts.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/raft/index.js';
import { TestCluster } from '../raft/harness.js';

describe('raft: a follower that lost acknowledged entries', () => {
  it('is backed up to where its log now ends and catches up', () => {
    const c = new TestCluster(['a', 'b', 'c']);
    c.elect('a');
    c.propose('a', 'x1', 'x2', 'x3', 'x4');
    c.deliverAll();
    expect(c.core('c').lastIndex).toBe(5);
    // c's disk loses entries 3..5 (it had acknowledged them), then c restarts.
    const node = c.node('c');
    const kept = new MemoryStorage();
    kept.append(node.storage.entries(1, 3, Number.POSITIVE_INFINITY));
    kept.setHardState({ ...node.storage.hardState(), commit: 2 });
    node.storage = kept;
    c.restart('c');
    expect(c.core('c').lastIndex).toBe(2);
    c.propose('a', 'y1');
    c.deliverAll();
    for (let i = 0; i < 30; i++) {
      c.tickAll();
      c.deliverAll();
    }
    expect(c.logOf('c')).toEqual(c.logOf('a'));
    expect(c.core('c').commitIndex).toBe(6);
  });
});
