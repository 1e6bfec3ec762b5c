/**
 * Scripted scenarios for read-only requests (src/raft/read-only.ts): ReadIndex
 * is confirmed only by a quorum's heartbeat answers, batched into one round,
 * waits for the leader's first commit of its term, and lease reads answer
 * without a round only while the lease holds.
 */
import { describe, expect, it } from 'vitest';
import { RaftRefusal, type Message, type ReadState } from '../../src/raft/index.js';
import { TestCluster } from './harness.js';

function readStates(c: TestCluster, id: string): ReadState[] {
  return c.node(id).readies.flatMap((rd) => [...rd.readStates]);
}
function dropped(c: TestCluster, id: string): number[] {
  return c.node(id).readies.flatMap((rd) => [...rd.droppedReads]);
}
const readHeartbeats = (from: string) => (m: Message) => m.type === 'heartbeat' && m.from === from && m.readSeq !== undefined;

describe('ReadIndex (read-only.ts)', () => {
  it('many reads between two Readies share one heartbeat round and are all confirmed with the commit index', () => {
    const c = new TestCluster(['a', 'b', 'c']);
    c.elect('a');
    c.propose('a', 'x');
    c.deliverAll();
    const commit = c.core('a').commitIndex;
    expect(commit).toBe(2);
    for (let i = 1; i <= 5; i++) c.core('a').readIndex(i);
    c.drainAll();
    const round = c.queue.filter(readHeartbeats('a'));
    expect(round.map((m) => m.to).sort()).toEqual(['b', 'c']); // one heartbeat per follower, not one per read
    expect(new Set(round.map((m) => (m.type === 'heartbeat' ? m.readSeq : -1))).size).toBe(1);
    expect(readStates(c, 'a')).toEqual([]);
    // One follower's answer (plus the leader) is a quorum of 3.
    c.deliverOne(readHeartbeats('a'));
    c.deliverOne((m) => m.type === 'heartbeatResp' && m.to === 'a');
    c.drainAll();
    expect(readStates(c, 'a')).toEqual([1, 2, 3, 4, 5].map((ctx) => ({ ctx, index: commit })));
  });

  it('at most one round in flight: reads that arrive while a round is out wait and all leave in the next one', () => {
    const c = new TestCluster(['a', 'b', 'c']);
    c.elect('a');
    c.propose('a', 'x');
    c.deliverAll();
    const commit = c.core('a').commitIndex;
    const seqs = (): number[] => c.queue.filter(readHeartbeats('a')).map((m) => (m.type === 'heartbeat' ? m.readSeq! : -1));
    c.core('a').readIndex(1);
    c.drainAll();
    expect(seqs()).toEqual([1, 1]); // round 1, to b and c
    // Reads in three later Readies while round 1 is unanswered: no new round for any of them.
    for (let ctx = 2; ctx <= 4; ctx++) {
      c.core('a').readIndex(ctx);
      c.drainAll();
    }
    expect(seqs()).toEqual([1, 1]);
    c.deliverOne(readHeartbeats('a'));
    c.deliverOne((m) => m.type === 'heartbeatResp' && m.to === 'a');
    c.drainAll();
    expect(readStates(c, 'a')).toEqual([{ ctx: 1, index: commit }]);
    // Round 1 confirmed: the three held reads leave together in round 2.
    expect(seqs().filter((s) => s === 2)).toEqual([2, 2]);
    c.deliverAll();
    expect(readStates(c, 'a').map((r) => r.ctx)).toEqual([1, 2, 3, 4]);
    expect(readStates(c, 'a').every((r) => r.index === commit)).toBe(true);
  });

  it('a single-node cluster confirms at once; a follower refuses with ERR_NOT_LEADER; a bad context is a RangeError', () => {
    const solo = new TestCluster(['a']);
    solo.elect('a');
    solo.core('a').readIndex(9);
    solo.drainAll();
    expect(readStates(solo, 'a')).toEqual([{ ctx: 9, index: 1 }]);
    const c = new TestCluster(['a', 'b', 'c']);
    c.elect('a');
    expect(() => c.core('b').readIndex(1)).toThrow(RaftRefusal);
    expect(() => c.core('a').readIndex(-1)).toThrow(RangeError);
    expect(() => c.core('a').readIndex(1.5)).toThrow(RangeError);
  });

  it('a partitioned old leader never confirms a read, and drops it when it learns of the new term', () => {
    const c = new TestCluster(['a', 'b', 'c'], { checkQuorum: false }); // a stays leader however long it hears nobody
    c.elect('a');
    c.propose('a', 'x');
    c.deliverAll();
    c.isolate('a');
    c.core('b').campaign();
    c.deliverAll();
    expect(c.leaders().sort()).toEqual(['a', 'b']);
    c.propose('b', 'y');
    c.deliverAll();
    expect(c.core('b').commitIndex).toBe(4);
    c.core('a').readIndex(42);
    c.core('a').readIndex(43, true); // lease: never without check-quorum
    for (let i = 0; i < 200; i++) {
      c.tick('a');
      c.deliverAll();
    }
    expect(c.core('a').role).toBe('leader');
    expect(readStates(c, 'a')).toEqual([]);
    // a hears the new term: it steps down and reports both reads dropped.
    c.heal();
    c.tick('b', c.core('b').settings.heartbeatTicks);
    c.deliverAll();
    expect(c.core('a').role).toBe('follower');
    expect(readStates(c, 'a')).toEqual([]);
    expect(dropped(c, 'a').sort()).toEqual([42, 43]);
  });

  it('with clocks ticking together, an isolated leader stops answering lease reads before another leader is elected', () => {
    const c = new TestCluster(['a', 'b', 'c']);
    c.elect('a');
    c.tick('a', c.core('a').settings.heartbeatTicks);
    c.deliverAll();
    c.isolate('a');
    let newLeaderAt = -1;
    for (let t = 1; t <= 1000 && newLeaderAt < 0; t++) {
      if (c.core('a').role === 'leader') c.core('a').readIndex(t, true);
      c.tickAll();
      c.deliverAll();
      if (c.leaders().some((id) => id !== 'a')) newLeaderAt = t;
    }
    expect(newLeaderAt).toBeGreaterThan(0);
    const answered = readStates(c, 'a').map((r) => r.ctx);
    expect(answered.length).toBeGreaterThan(0); // the lease did serve reads at first
    expect(Math.max(...answered)).toBeLessThan(newLeaderAt);
  });

  it('a read issued before the new leader commits an entry of its term waits for that commit', () => {
    const c = new TestCluster(['a', 'b', 'c'], { checkQuorum: false }); // b may campaign at once
    c.elect('a');
    c.propose('a', 'x');
    // x reaches b and c; a commits it (index 2) but nobody else learns the commit.
    c.deliverAll((m) => m.from === 'a' && m.type === 'append' && m.commit >= 2);
    expect(c.core('a').commitIndex).toBe(2);
    expect(c.core('b').commitIndex).toBe(1);
    c.isolate('a');
    // b wins term 2 but its no-op is not answered yet: its commit index (1) lags the cluster's (2).
    c.core('b').campaign();
    c.deliverAll((m) => m.type === 'append' || m.type === 'appendResp');
    expect(c.core('b').role).toBe('leader');
    expect(c.core('b').commitIndex).toBe(1);
    c.core('b').readIndex(7);
    c.drainAll();
    expect(c.queue.some(readHeartbeats('b'))).toBe(false); // no round yet: it would confirm index 1 < 2
    c.tick('b', c.core('b').settings.heartbeatTicks);
    c.deliverAll((m) => m.type === 'append' || m.type === 'appendResp');
    expect(readStates(c, 'b')).toEqual([]);
    // The next heartbeat's answer resends the no-op; it commits (index 3) and the read joins a round with that commit index.
    c.tick('b', c.core('b').settings.heartbeatTicks);
    c.deliverAll();
    expect(c.core('b').commitIndex).toBe(3);
    const rs = readStates(c, 'b');
    expect(rs).toHaveLength(1);
    expect(rs[0]!.ctx).toBe(7);
    expect(rs[0]!.index).toBeGreaterThanOrEqual(3);
  });

  it('a lease renewed by an answer that crossed a check-quorum boundary ends before the answering follower may campaign', () => {
    // The answer that marks a follower active in a period can have been sent (the follower's
    // election timer reset) before the period began: the lease must not count from the period
    // start. Followers b and c reset their timers at tick tReset on a's heartbeat; their answers
    // arrive only after a's check-quorum boundary at electionTicks. The earliest tick either of
    // them may campaign is tReset + electionTicks (its randomized timeout is at least that).
    const c = new TestCluster(['a', 'b', 'c']);
    c.elect('a'); // a's election clock starts at 0
    const { electionTicks: e, heartbeatTicks: h } = c.core('a').settings;
    const tReset = Math.floor((e - 1) / h) * h; // a heartbeats every h ticks from its election
    let held: Message[] = [];
    for (let t = 1; t < e; t++) {
      c.tick('a');
      if (t !== tReset) {
        c.deliverAll();
        continue;
      }
      while (c.deliverOne((m) => m.type === 'heartbeat') !== undefined);
      held = c.dropWhere((m) => m.type === 'heartbeatResp');
    }
    expect(held.map((m) => m.from).sort()).toEqual(['b', 'c']);
    c.cut.add('a->b');
    c.cut.add('a->c');
    c.tick('a'); // tick e: the check-quorum boundary (the period's earlier answers keep a leader)
    expect(c.core('a').role).toBe('leader');
    c.queue.push(...held); // the held answers land in the new period
    c.deliverAll();
    c.isolate('a');
    const confirmedAt = new Map<number, number>();
    for (let t = e + 1; t <= tReset + 2 * e; t++) {
      c.tick('a');
      c.deliverAll();
      if (c.core('a').role !== 'leader') break;
      c.core('a').readIndex(t, true);
      c.drainAll();
      for (const rs of readStates(c, 'a')) if (!confirmedAt.has(rs.ctx)) confirmedAt.set(rs.ctx, t);
    }
    expect(confirmedAt.has(e + 1)).toBe(true); // the renewed lease did serve reads
    expect(Math.max(...confirmedAt.values())).toBeLessThan(tReset + e);
  });

  it('a lease read on a healthy leader answers without a round; after quorum silence it needs one', () => {
    const c = new TestCluster(['a', 'b', 'c']);
    c.elect('a');
    c.tick('a', c.core('a').settings.heartbeatTicks);
    c.deliverAll();
    c.core('a').readIndex(1, true);
    c.drainAll();
    expect(readStates(c, 'a')).toEqual([{ ctx: 1, index: 1 }]);
    expect(c.queue.some(readHeartbeats('a'))).toBe(false);
    // A new check-quorum period with no answers: the lease is gone, the read waits for a round.
    c.isolate('b');
    c.isolate('c');
    c.tick('a', c.core('a').settings.electionTicks + 1); // the period with the answers ends: still leader, the new one has none
    c.deliverAll();
    expect(c.core('a').role).toBe('leader');
    c.core('a').readIndex(2, true);
    c.drainAll();
    expect(c.queue.some(readHeartbeats('a'))).toBe(true);
    expect(readStates(c, 'a')).toEqual([{ ctx: 1, index: 1 }]);
  });
});
