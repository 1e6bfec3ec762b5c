import { describe, expect, it } from 'vitest';
import { TestCluster } from './harness.js';

describe('a replica with unrepaired damage (issue 16, docs/RAFT.md "Damaged replicas")', () => {
  it('does not count toward a commit quorum at or past the damage until repaired, and keeps the entries', () => {
    const c = new TestCluster(['a', 'b', 'c']);
    c.elect('a');
    c.propose('a', 'x1', 'x2');
    c.deliverAll();
    const committed = c.core('a').commitIndex;
    expect(committed).toBe(3);
    c.core('c').damage.set(2);
    c.isolate('b');
    c.propose('a', 'y');
    c.deliverAll();
    c.tickAll(3);
    c.deliverAll();
    // Only a and c hold index 4, and c's acks are capped at 1: not committed.
    expect(c.core('a').commitIndex).toBe(committed);
    expect(c.logOf('c')).toEqual(c.logOf('a')); // c still writes what it is sent
    c.core('c').damage.set(undefined);
    c.propose('a', 'z');
    c.deliverAll();
    expect(c.core('a').commitIndex).toBe(5);
  });

  it('does not grant votes or pre-votes, so a candidate that needs it does not win', () => {
    for (const preVote of [true, false]) {
      const c = new TestCluster(['a', 'b', 'c'], { preVote });
      c.elect('a');
      c.propose('a', 'x');
      c.deliverAll();
      c.core('c').damage.set(1);
      c.isolate('a');
      c.tick('c', 50); // c forgets the leader, so only the damage decides its answer
      c.deliverAll();
      const answers: string[] = [];
      c.observer = (m) => {
        if ((m.type === 'voteResp' || m.type === 'preVoteResp') && m.from === 'c') answers.push(`${m.type}:${m.reject ? 'reject' : 'grant'}`);
      };
      c.core('b').campaign();
      c.deliverAll();
      expect(answers.length).toBeGreaterThan(0);
      expect(answers.every((a) => a.endsWith(':reject'))).toBe(true);
      expect(c.core('b').role).not.toBe('leader');
      // Repaired, c grants again and b wins.
      c.core('c').damage.set(undefined);
      c.core('b').campaign();
      c.deliverAll();
      expect(c.core('b').role).toBe('leader');
    }
  });

  it('does not campaign', () => {
    const c = new TestCluster(['a', 'b', 'c']);
    c.core('c').damage.set(1);
    c.core('c').campaign();
    c.deliverAll();
    c.tick('c', 100);
    c.deliverAll();
    expect(c.core('c').role).toBe('follower');
    expect(c.core('c').term).toBe(0);
    expect(c.leaders()).not.toContain('c');
  });

  it('a damaged leader steps down at once, hands over to a caught-up follower, and does not lead again until repaired', () => {
    const c = new TestCluster(['a', 'b', 'c']);
    c.elect('a');
    c.propose('a', 'x1', 'x2');
    c.deliverAll();
    const timeoutNow: string[] = [];
    c.observer = (m) => {
      if (m.type === 'timeoutNow' && m.from === 'a') timeoutNow.push(m.to);
    };
    c.core('a').damage.set(2);
    c.deliverAll(); // the next Ready of a
    expect(c.core('a').role).toBe('follower');
    expect(timeoutNow.length).toBe(1);
    const next = c.leaders();
    expect(next.length).toBe(1);
    expect(next).not.toContain('a');
    expect(next).toContain(timeoutNow[0]);
    // The new leader commits without counting a past the damage, and a never campaigns meanwhile.
    c.tick('a', 200);
    c.deliverAll();
    expect(c.leaders()).not.toContain('a');
    c.core('a').damage.set(undefined);
    expect(c.core('a').damage.mayLead()).toBe(true);
  });

  it("a damaged leader's own acknowledgement counts only below the damage until it steps down", () => {
    const c = new TestCluster(['a', 'b', 'c']);
    c.elect('a');
    c.propose('a', 'x');
    c.deliverAll();
    const before = c.core('a').commitIndex;
    c.isolate('c');
    c.propose('a', 'y'); // a holds it durably; b acknowledges it
    c.core('a').damage.set(before + 1);
    c.deliverAll();
    // a stepped down before counting itself for the new entry: not committed by a as leader.
    expect(c.core('a').role).toBe('follower');
    expect(c.core('a').commitIndex).toBe(before);
  });
  it("a damaged leader does not count itself toward the commit quorum of the damaged range (the own-count cap, scripted without the step-down)", () => {
    const c = new TestCluster(['a', 'b', 'c']);
    c.elect('a');
    c.propose('a', 'x');
    c.deliverAll();
    const before = c.core('a').commitIndex;
    c.isolate('c'); // the quorum for the next entry is a and b
    const y = c.propose('a', 'y');
    c.drainAll(); // a writes y durably and sends it
    expect(c.deliverOne((m) => m.type === 'append' && m.to === 'b')).toBeDefined();
    const acks = c.dropWhere((m) => m.type === 'appendResp' && m.from === 'b' && m.to === 'a');
    expect(acks.length).toBe(1);
    // a finds damage at y before b's acknowledgement of y arrives; the ack is stepped into the
    // core directly, before a's next Ready (where it steps down), so only the cap stands
    // between a quorum of {a (own count), b} and committing y.
    c.core('a').damage.set(y);
    c.core('a').step(acks[0]!);
    expect(c.core('a').role).toBe('leader');
    expect(c.core('a').commitIndex).toBe(before);
    // Repaired, a counts itself again: the next entry commits y with it.
    c.core('a').damage.set(undefined);
    const z = c.propose('a', 'z');
    c.deliverAll();
    expect(c.core('a').role).toBe('leader');
    expect(c.core('a').commitIndex).toBe(z);
  });
});
