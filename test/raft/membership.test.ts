/**
 * Scripted membership-change scenarios (docs/RAFT.md, "Membership change";
 * issue 13): single-server changes with Ongaro's fix, learners, removal of a
 * follower and of the leader, refusals, and a Config entry that a new leader
 * truncates.
 */
import { describe, expect, it } from 'vitest';
import { RaftRefusal, type Message, type RaftCore } from '../../src/raft/index.js';
import { decodeConfiguration, encodeConfiguration } from '../../src/raft/conf-change.js';
import { TestCluster } from './harness.js';

const voters = (r: RaftCore): string[] => r.membership.current.voters.map((m) => m.id).sort();
const learners = (r: RaftCore): string[] => r.membership.current.learners.map((m) => m.id).sort();

function refusal(fn: () => unknown): RaftRefusal {
  try {
    fn();
  } catch (e) {
    if (e instanceof RaftRefusal) return e;
    throw e;
  }
  throw new Error('expected a RaftRefusal');
}

function tickUntil(c: TestCluster, pred: () => boolean, who: string[], max = 3000): void {
  for (let i = 0; i < max; i++) {
    if (pred()) return;
    for (const id of who) c.tick(id);
    c.deliverAll();
  }
  throw new Error('tickUntil: condition not reached');
}

/** a leads a, b, c with one committed entry of its term ('x'). */
function threeWithEntry(cfg: ConstructorParameters<typeof TestCluster>[1] = {}): TestCluster {
  const c = new TestCluster(['a', 'b', 'c'], cfg);
  c.elect('a');
  c.propose('a', 'x');
  c.deliverAll();
  return c;
}

/** threeWithEntry, and d is started as a learner outside the configuration. */
function clusterWithLearner(): TestCluster {
  const c = threeWithEntry();
  c.addLearnerNode('d', ['a', 'b', 'c']);
  return c;
}

/** Cuts b and c off, proposes `data` on a and delivers what can be; returns its index. */
function proposeWithoutBC(c: TestCluster, data: string): number {
  c.isolate('b');
  c.isolate('c');
  const index = c.propose('a', data);
  c.deliverAll();
  return index;
}

/** Heals every cut, then ticks everyone 10 times and delivers everything. */
function healAndSettle(c: TestCluster): void {
  c.heal();
  c.tickAll(10);
  c.deliverAll();
}

describe('Config entry body (docs/FORMAT.md)', () => {
  it('round-trips and refuses malformed bodies with a RangeError', () => {
    const conf = { voters: [{ id: 'a', address: '127.0.0.1:7001' }, { id: 'b', address: '' }], learners: [{ id: 'dé', address: 'x' }] };
    const body = encodeConfiguration(conf);
    expect(decodeConfiguration(body)).toEqual(conf);
    expect(() => decodeConfiguration(body.subarray(0, body.byteLength - 1))).toThrow(RangeError);
    expect(() => decodeConfiguration(new Uint8Array([...body, 0]))).toThrow(RangeError);
    expect(() => decodeConfiguration(new Uint8Array([2, 0, 0, 0, 0]))).toThrow(/version/);
    expect(() => decodeConfiguration(new Uint8Array([1, 0, 0, 0, 0]))).toThrow(/at least one voter/);
    const dup = encodeConfiguration({ voters: [{ id: 'a', address: '' }, { id: 'b', address: '' }], learners: [] });
    dup[10] = 'a'.charCodeAt(0); // the second id becomes 'a'
    expect(() => decodeConfiguration(dup)).toThrow(/duplicate/);
  });
});

describe('membership change (single-server, thesis §4.1)', () => {
  it('a learner receives the log, never counts toward a quorum, never campaigns; once caught up it is promoted and counts', () => {
    const c = clusterWithLearner();
    const idx = c.changeConf('a', { type: 'addLearner', id: 'd', address: 'd:7000' });
    // In force on the leader as soon as it is appended, before it commits.
    expect(learners(c.core('a'))).toEqual(['d']);
    expect(c.core('a').commitIndex).toBeLessThan(idx);
    c.deliverAll();
    for (const id of ['a', 'b', 'c', 'd']) {
      expect(voters(c.core(id))).toEqual(['a', 'b', 'c']);
      expect(learners(c.core(id))).toEqual(['d']);
    }
    expect(c.core('a').membership.current.learners[0]?.address).toBe('d:7000');
    expect(c.logOf('d')).toEqual(c.logOf('a'));
    expect(c.core('d').commitIndex).toBe(c.core('a').commitIndex);

    // Only a and the learner: no quorum.
    const y = proposeWithoutBC(c, 'y');
    expect(c.core('d').lastIndex).toBe(y);
    expect(c.core('a').commitIndex).toBeLessThan(y);
    healAndSettle(c);
    expect(c.core('a').commitIndex).toBe(y);

    // A learner never campaigns, however long it hears nothing.
    c.isolate('d');
    const term = c.core('d').term;
    c.tick('d', 1000);
    expect(c.core('d').role).toBe('follower');
    expect(c.core('d').term).toBe(term);
    expect(c.queue.some((m) => m.from === 'd' && (m.type === 'vote' || m.type === 'preVote'))).toBe(false);
    healAndSettle(c);

    c.changeConf('a', { type: 'promote', id: 'd' });
    c.deliverAll();
    for (const id of ['a', 'b', 'c', 'd']) {
      expect(voters(c.core(id))).toEqual(['a', 'b', 'c', 'd']);
      expect(learners(c.core(id))).toEqual([]);
    }
    // 4 voters: a and d alone (2 of 4) no longer commit.
    const z = proposeWithoutBC(c, 'z');
    expect(c.core('a').commitIndex).toBeLessThan(z);
    healAndSettle(c);
    expect(c.core('a').commitIndex).toBe(z);
    // d can now lead.
    c.isolate('a');
    tickUntil(c, () => c.core('d').role === 'leader' || c.core('b').role === 'leader' || c.core('c').role === 'leader', ['b', 'c', 'd']);
  });

  it('a node whose configuration does not name the leader yet (started with the old voters) hears from it and learns the new configuration from the log', () => {
    const c = clusterWithLearner();
    c.changeConf('a', { type: 'addLearner', id: 'd', address: '' });
    c.deliverAll();
    c.changeConf('a', { type: 'promote', id: 'd' });
    c.deliverAll();
    // e starts knowing only a, b, c, and is added while cut off: it has heard nothing yet.
    c.addLearnerNode('e', ['a', 'b', 'c']);
    c.isolate('e');
    c.changeConf('a', { type: 'addLearner', id: 'e', address: '' });
    c.deliverAll();
    // a hands leadership to d, then is cut off: e only ever hears from d.
    c.core('a').transferLeadership('d');
    c.node('a').drain();
    c.deliverAll();
    expect(c.core('d').role).toBe('leader');
    c.heal();
    c.isolate('a');
    c.propose('d', 'after');
    tickUntil(c, () => c.logOf('e').join() === c.logOf('d').join() && c.core('e').commitIndex === c.core('d').commitIndex, ['b', 'c', 'd', 'e']);
    expect(voters(c.core('e'))).toEqual(['a', 'b', 'c', 'd']);
    expect(learners(c.core('e'))).toEqual(['e']);
    expect(c.logOf('e').at(-1)).toMatch(/^after@/);
  });

  it('refuses to promote a learner more than maxPromoteLagEntries behind, naming the lag; promotes it once caught up', () => {
    const c = new TestCluster(['a', 'b', 'c'], { maxPromoteLagEntries: 2 });
    c.elect('a');
    c.addLearnerNode('d', ['a', 'b', 'c'], { maxPromoteLagEntries: 2 });
    c.changeConf('a', { type: 'addLearner', id: 'd', address: '' });
    c.deliverAll(); // d holds everything so far
    c.isolate('d');
    c.propose('a', '1', '2', '3', '4');
    c.deliverAll();
    const r = refusal(() => c.changeConf('a', { type: 'promote', id: 'd' }));
    expect(r.code).toBe('ERR_LEARNER_BEHIND');
    expect(r.retriable).toBe(false);
    expect(r.message).toMatch(/ 4 entries behind \(at most 2/);
    expect(learners(c.core('a'))).toEqual(['d']);
    healAndSettle(c);
    c.changeConf('a', { type: 'promote', id: 'd' });
    c.deliverAll();
    expect(voters(c.core('d'))).toEqual(['a', 'b', 'c', 'd']);
  });

  it('refuses bad changes with typed errors and changes nothing', () => {
    const c = clusterWithLearner();
    const before = c.core('a').lastIndex;
    expect(refusal(() => c.changeConf('b', { type: 'remove', id: 'c' })).code).toBe('ERR_NOT_LEADER');
    expect(refusal(() => c.changeConf('a', { type: 'addLearner', id: 'b' })).code).toBe('ERR_CONF_CHANGE_INVALID');
    expect(refusal(() => c.changeConf('a', { type: 'promote', id: 'zz' })).code).toBe('ERR_CONF_CHANGE_INVALID');
    expect(refusal(() => c.changeConf('a', { type: 'remove', id: 'zz' })).code).toBe('ERR_CONF_CHANGE_INVALID');
    expect(() => c.changeConf('a', { type: 'bogus' as 'remove', id: 'b' })).toThrow(RangeError);
    expect(() => c.changeConf('a', { type: 'remove', id: '' })).toThrow(TypeError);
    expect(() => c.core('a').propose([new Uint8Array(1)], 3)).toThrow(/proposeConfChange/);
    expect(c.core('a').lastIndex).toBe(before);
    // Removing the last voter.
    const solo = new TestCluster(['a']);
    solo.elect('a');
    solo.deliverAll();
    const r = refusal(() => solo.changeConf('a', { type: 'remove', id: 'a' }));
    expect(r.code).toBe('ERR_LAST_VOTER');
    expect(r.retriable).toBe(false);
  });

  it('a second change is refused (retriable) while one is in flight', () => {
    const c = clusterWithLearner();
    c.changeConf('a', { type: 'addLearner', id: 'd', address: '' });
    const r = refusal(() => c.changeConf('a', { type: 'remove', id: 'c' }));
    expect(r.code).toBe('ERR_CONF_CHANGE_IN_FLIGHT');
    expect(r.retriable).toBe(true);
    c.deliverAll();
    c.changeConf('a', { type: 'remove', id: 'c' });
    c.deliverAll();
    expect(voters(c.core('a'))).toEqual(['a', 'b']);
  });

  it('Ongaro 2015: a new leader that has not committed an entry of its term cannot start a change', () => {
    const c = threeWithEntry({ preVote: false, checkQuorum: false });
    c.isolate('a');
    c.core('b').campaign();
    c.deliverAll((m: Message) => m.type === 'append' && m.from === 'b');
    expect(c.core('b').role).toBe('leader');
    expect(c.core('b').termAt(c.core('b').commitIndex)).toBeLessThan(c.core('b').term);
    const r = refusal(() => c.changeConf('b', { type: 'remove', id: 'a' }));
    expect(r.code).toBe('ERR_NOT_COMMITTED_IN_TERM');
    expect(r.retriable).toBe(true);
    // Once its no-op commits, the same change goes through.
    c.tick('b', 10);
    c.deliverAll();
    expect(c.core('b').termAt(c.core('b').commitIndex)).toBe(c.core('b').term);
    c.changeConf('b', { type: 'remove', id: 'a' });
    c.deliverAll();
    expect(voters(c.core('c'))).toEqual(['b', 'c']);
  });

  it('removes a follower: it applies its removal, never campaigns, and the rest commit as a pair', () => {
    const c = threeWithEntry();
    const idx = c.changeConf('a', { type: 'remove', id: 'c' });
    c.deliverAll();
    expect(c.core('a').commitIndex).toBeGreaterThanOrEqual(idx);
    for (const id of ['a', 'b', 'c']) expect(voters(c.core(id))).toEqual(['a', 'b']);
    expect(c.core('a').status().progress.c).toBeUndefined();
    c.isolate('c');
    const y = c.propose('a', 'y');
    c.deliverAll();
    expect(c.core('a').commitIndex).toBe(y);
    const term = c.core('c').term;
    c.tick('c', 1000);
    expect(c.core('c').term).toBe(term);
    expect(c.core('c').role).toBe('follower');
  });

  it('a removed node that missed its removal does not disrupt the cluster (its messages are dropped)', () => {
    const c = threeWithEntry();
    c.isolate('c');
    c.changeConf('a', { type: 'remove', id: 'c' });
    c.deliverAll();
    expect(voters(c.core('b'))).toEqual(['a', 'b']);
    c.heal();
    const term = c.core('a').term;
    for (let i = 0; i < 300; i++) {
      c.tickAll();
      c.deliverAll();
    }
    expect(c.core('a').role).toBe('leader');
    expect(c.core('a').term).toBe(term);
    expect(c.core('b').term).toBe(term);
  });

  it('removes the leader: it leads until the change commits, then steps down and a new leader is elected among the rest', () => {
    const c = threeWithEntry();
    const idx = c.changeConf('a', { type: 'remove', id: 'a' });
    expect(voters(c.core('a'))).toEqual(['b', 'c']);
    expect(c.core('a').role).toBe('leader'); // not committed yet
    c.deliverAll();
    expect(c.core('b').commitIndex).toBeGreaterThanOrEqual(idx);
    expect(c.core('a').role).toBe('follower');
    const leaders = c.leaders();
    expect(leaders.length).toBe(1);
    expect(['b', 'c']).toContain(leaders[0]);
    const lead = leaders[0] as string;
    const y = c.propose(lead, 'y');
    c.isolate('a');
    c.deliverAll();
    expect(c.core(lead).commitIndex).toBe(y);
    const term = c.core('a').term;
    c.tick('a', 1000);
    expect(c.core('a').term).toBe(term);
  });

  it('removing the target of a pending leadership transfer cancels the transfer; other changes wait for it', () => {
    const c = clusterWithLearner();
    c.isolate('c');
    c.propose('a', 'y');
    c.deliverAll();
    c.core('a').transferLeadership('c'); // c is behind and cut off: the transfer waits
    expect(c.core('a').leadTransferee).toBe('c');
    expect(refusal(() => c.changeConf('a', { type: 'addLearner', id: 'd' })).code).toBe('ERR_TRANSFER_IN_PROGRESS');
    c.changeConf('a', { type: 'remove', id: 'c' });
    expect(c.core('a').leadTransferee).toBe('');
    c.propose('a', 'z'); // no longer refused
    c.deliverAll();
    expect(voters(c.core('b'))).toEqual(['a', 'b']);
    expect(c.core('a').role).toBe('leader');
    expect(() => c.core('a').transferLeadership('c')).toThrow(RangeError);
  });

  it('a Config entry truncated by a new leader reverts the configuration on that node', () => {
    const c = clusterWithLearner();
    c.isolate('a');
    const idx = c.changeConf('a', { type: 'addLearner', id: 'd', address: '' });
    expect(learners(c.core('a'))).toEqual(['d']);
    c.deliverAll();
    tickUntil(c, () => c.core('b').role === 'leader' || c.core('c').role === 'leader', ['b', 'c']);
    const lead = c.core('b').role === 'leader' ? 'b' : 'c';
    c.propose(lead, 'y');
    c.deliverAll();
    c.heal();
    tickUntil(c, () => c.core('a').leader === lead && c.core('a').termAt(idx) === c.core(lead).term, ['a', 'b', 'c']);
    expect(learners(c.core('a'))).toEqual([]);
    expect(voters(c.core('a'))).toEqual(['a', 'b', 'c']);
    expect(c.logOf('a')).toEqual(c.logOf(lead));
  });

  it('a restarted node recovers its configuration from the log, over its bootstrap peers', () => {
    const c = clusterWithLearner();
    c.changeConf('a', { type: 'addLearner', id: 'd', address: 'd:1' });
    c.deliverAll();
    c.changeConf('a', { type: 'promote', id: 'd' });
    c.deliverAll();
    c.restart('d'); // bootstrap: peers a, b, c and learners [d]
    expect(voters(c.core('d'))).toEqual(['a', 'b', 'c', 'd']);
    expect(c.core('d').membership.current.voters.find((m) => m.id === 'd')?.address).toBe('d:1');
    c.restart('b');
    expect(voters(c.core('b'))).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a follower reset to a log start past a compacted Config entry takes the committed configuration of the leader (and hands it to the driver)', () => {
    const c = clusterWithLearner();
    c.isolate('c');
    c.changeConf('a', { type: 'addLearner', id: 'd', address: 'd:9' });
    c.propose('a', 'p1', 'p2', 'p3');
    c.deliverAll();
    const first = c.core('a').commitIndex;
    c.node('a').compact(first); // the Config entry is gone from a's log
    expect(c.core('a').firstIndex).toBeGreaterThan(3);
    expect(learners(c.core('c'))).toEqual([]);
    c.heal();
    tickUntil(c, () => c.core('c').commitIndex === c.core('a').commitIndex, ['a', 'b', 'c', 'd']);
    expect(c.node('c').readies.some((rd) => rd.logReset !== null && rd.logReset.conf !== undefined)).toBe(true);
    expect(learners(c.core('c'))).toEqual(['d']);
    expect(c.core('c').membership.current.learners[0]?.address).toBe('d:9');
  });
});
