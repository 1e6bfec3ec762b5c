/**
 * Ledger membership (src/replica/membership.ts): addLearner/promote/removeMember over real
 * TCP (the transport's peers follow the configuration), the configuration stored beside
 * the log (a restart uses it over the bootstrap members), and the API's errors.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/index.js';
import { reserveNodeAddresses } from '../../src/tools/cluster/ports.js';
import { MEMBERSHIP_FILE, decodeStoredConfiguration, encodeStoredConfiguration } from '../../src/replica/conf-file.js';
import { decodeConfiguration, encodeConfiguration } from '../../src/raft/index.js';
import { formatMemberAddress } from '../../src/replica/peers.js';
import { useTempDirs } from '../support/tmp.js';
import { MemoryCluster } from '../support/memory-cluster.js';

const tempDir = useTempDirs();
const timing = { segmentSizeBytes: 1024 * 1024, tickMs: 5, heartbeatTicks: 4, electionTicks: 30 };

async function until(what: string, predicate: () => boolean, bound = 1500): Promise<void> {
  for (let i = 0; i < bound; i++) {
    if (predicate()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Retry a change refused with a retriable error (a new leader has not committed in its term yet). */
async function change(fn: () => Promise<void>): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await fn();
      return;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (i > 200 || (code !== 'ERR_NOT_COMMITTED_IN_TERM' && code !== 'ERR_CONF_CHANGE_IN_FLIGHT')) throw error;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** Opens `ids` over TCP on free loopback ports, each on a temp dir, with `timing`. */
async function openGroup(ids: string[]): Promise<{ ledgers: Map<string, Ledger> }> {
  const peers = await reserveNodeAddresses(ids);
  const ledgers = new Map<string, Ledger>();
  for (const id of ids) ledgers.set(id, await Ledger.open({ dir: tempDir(), id, peers, ...timing }));
  return { ledgers };
}

/** Waits (bounded) until one of `ledgers` is leader and returns it. */
async function leaderOf(ledgers: Map<string, Ledger>): Promise<Ledger> {
  let leader: Ledger | undefined;
  await until('a leader', () => (leader = [...ledgers.values()].find((l) => l.role === 'leader')) !== undefined);
  return leader!;
}

const closeAll = (ledgers: Map<string, Ledger>): Promise<unknown> => Promise.all([...ledgers.values()].map((l) => l.close()));

describe('Ledger membership over TCP', () => {
  it('adds a learner that catches up, promotes it, removes an old voter whose link is dropped, and a restart keeps the configuration', async () => {
    const ids = ['a', 'b', 'c', 'd'];
    const all = await reserveNodeAddresses(ids);
    const three = { a: all.a!, b: all.b!, c: all.c! };
    const dirs = Object.fromEntries(ids.map((id) => [id, tempDir()]));
    const ledgers = new Map<string, Ledger>();
    for (const id of ['a', 'b', 'c']) ledgers.set(id, await Ledger.open({ dir: dirs[id]!, id, peers: three, ...timing }));
    try {
      const leader = await leaderOf(ledgers);
      const before = await Promise.all(Array.from({ length: 30 }, (_, i) => leader!.append(Buffer.from(`before ${i}`))));
      expect(existsSync(join(dirs[leader!.id]!, MEMBERSHIP_FILE))).toBe(false); // no Config entry yet: nothing stored
      // d starts knowing the group, as a learner not yet added
      ledgers.set('d', await Ledger.open({ dir: dirs.d!, id: 'd', peers: all, learners: ['d'], ...timing }));
      const d = ledgers.get('d')!;
      await expect(leader!.promote('d')).rejects.toMatchObject({ code: 'ERR_CONF_CHANGE_INVALID' });
      await expect(leader!.addLearner('d', formatMemberAddress(all.a!))).rejects.toMatchObject({ code: 'ERR_CONF_CHANGE_INVALID' }); // a's address
      await expect(leader!.addLearner('d', 'nonsense')).rejects.toMatchObject({ code: 'ERR_BAD_CONFIG' });
      await change(() => leader!.addLearner('d', formatMemberAddress(all.d!)));
      expect(leader!.members().learners.map((m) => m.id)).toEqual(['d']);
      // The same change again (a retry after a lost answer) succeeds without a new entry; another address for d is refused.
      const configIndex = leader!.members().configIndex;
      await leader!.addLearner('d', formatMemberAddress(all.d!));
      expect(leader!.members().configIndex).toBe(configIndex);
      await expect(leader!.addLearner('d', formatMemberAddress(all.c!))).rejects.toMatchObject({ code: 'ERR_CONF_CHANGE_INVALID' });
      await until('d caught up', () => d.commitIndex >= before[29]!.index);
      expect(d.read(before[3]!.index)?.payload.toString()).toBe('before 3');
      expect(d.role).toBe('follower');
      await change(() => leader!.promote('d'));
      expect(leader!.members().voters.map((m) => m.id).sort()).toEqual(['a', 'b', 'c', 'd']);
      await leader!.promote('d'); // a retry: already a voter, success
      expect(leader!.members().voters.map((m) => m.id).sort()).toEqual(['a', 'b', 'c', 'd']);
      const victim = ['a', 'b', 'c'].find((id) => id !== leader!.id)!;
      await change(() => leader!.removeMember(victim));
      await ledgers.get(victim)!.close();
      ledgers.delete(victim);
      const view = leader!.members();
      expect(view.voters.map((m) => m.id).sort()).toEqual(ids.filter((id) => id !== victim));
      expect(view.committed).toBe(true);
      expect(leader!.status().members?.voters.find((m) => m.id === 'd')).toMatchObject({ lag: expect.any(Number), active: true });
      // The leader's transport dropped the removed member and knows d.
      const peersOf = (l: Ledger): string[] => Object.keys(l.status().transport?.peers ?? {}).sort();
      await until('transport follows', () => !peersOf(leader!).includes(victim) && peersOf(leader!).includes('d'));
      const after = await Promise.all(Array.from({ length: 20 }, (_, i) => leader!.append(Buffer.from(`after ${i}`))));
      const last = after[19]!.index;
      await until('all remaining commit', () => [...ledgers.values()].every((l) => l.commitIndex >= last));
      for (const l of ledgers.values()) expect(l.read(after[5]!.index)?.payload.toString()).toBe('after 5');
      // d restarts with its flags naming only a, b, c, d as before: the stored configuration wins.
      await d.close();
      const stored = decodeStoredConfiguration(readFileSync(join(dirs.d!, MEMBERSHIP_FILE)), 'x');
      expect(decodeConfiguration(stored.body).voters.map((m) => m.id)).toContain('d');
      const lines: string[] = [];
      const d2 = await Ledger.open({ dir: dirs.d!, id: 'd', peers: all, learners: ['d'], ...timing, onLog: (line) => lines.push(line) });
      ledgers.set('d', d2);
      expect(lines.join('\n')).toMatch(/WARNING the stored configuration \(voters [a-d,]+ learners -\) wins over the configured members: they name voters a,b,c learners d/);
      expect(d2.members().voters.map((m) => m.id).sort()).toEqual(ids.filter((id) => id !== victim));
      const more = await leader!.append(Buffer.from('after restart'));
      await until('d2 commits', () => d2.commitIndex >= more.index);
    } finally {
      await closeAll(ledgers);
    }
  }, 60_000);
});

describe('removing the leader itself', () => {
  it('resolves once committed, the leader hands over, the others go on without it and drop its link', async () => {
    const ids = ['a', 'b', 'c'];
    const { ledgers } = await openGroup(ids);
    try {
      const leader = await leaderOf(ledgers);
      const old = leader!;
      const ack = await old.append(Buffer.from('before'));
      await change(() => old.removeMember(old.id));
      const rest = [...ledgers.values()].filter((l) => l !== old);
      let next: Ledger | undefined;
      await until('a new leader among the rest', () => (next = rest.find((l) => l.role === 'leader')) !== undefined);
      expect(old.role).not.toBe('leader');
      const after = await next!.append(Buffer.from('after'));
      await until('both commit', () => rest.every((l) => l.commitIndex >= after.index));
      for (const l of rest) expect(l.read(ack.index)?.payload.toString()).toBe('before');
      expect(next!.members().voters.map((m) => m.id).sort()).toEqual(rest.map((l) => l.id).sort());
      await until('the old leader\'s link is dropped', () => rest.every((l) => l.status().transport?.peers[old.id] === undefined));
    } finally {
      await closeAll(ledgers);
    }
  }, 60_000);
});

describe('the quorum rule for removing a voter', () => {
  it('refuses to remove a voter when the voters that would remain and are up are not a quorum; removing the down one is fine', async () => {
    const ids = ['a', 'b', 'c'];
    const { ledgers } = await openGroup(ids);
    try {
      const leader = await leaderOf(ledgers);
      await leader!.append(Buffer.from('x'));
      const [down, up] = ids.filter((id) => id !== leader!.id) as [string, string];
      await ledgers.get(down)!.close();
      ledgers.delete(down);
      await until('the leader sees it down', () => leader!.status().transport?.peers[down]?.connected === false);
      await expect(leader!.removeMember(up)).rejects.toMatchObject({ code: 'ERR_CONF_CHANGE_INVALID', message: expect.stringMatching(/only 1 of the 2 voters that would remain are up/) });
      expect(leader!.members().voters).toHaveLength(3); // nothing changed
      await change(() => leader!.removeMember(down));
      expect(leader!.members().voters.map((m) => m.id).sort()).toEqual([leader!.id, up].sort());
      const configIndex = leader!.members().configIndex;
      await leader!.removeMember(down); // a retry after a lost answer: success, nothing proposed
      expect(leader!.members().configIndex).toBe(configIndex);
      await expect(leader!.removeMember(up === 'zz' ? 'a' : 'zz')).rejects.toMatchObject({ code: 'ERR_CONF_CHANGE_INVALID' }); // not a member
    } finally {
      await closeAll(ledgers);
    }
  }, 60_000);
});

describe('stored configuration', () => {
  it('round-trips and refuses damage', () => {
    const body = encodeConfiguration({ voters: [{ id: 'a', address: '127.0.0.1:1/2' }], learners: [] });
    const bytes = encodeStoredConfiguration({ index: 42, body });
    expect(decodeStoredConfiguration(bytes, 'f')).toEqual({ index: 42, body });
    for (const at of [0, 9, 20, bytes.length - 1]) {
      const bad = Buffer.from(bytes);
      bad[at]! ^= 1;
      expect(() => decodeStoredConfiguration(bad, 'f')).toThrow(expect.objectContaining({ code: 'ERR_LOG_CORRUPT' }));
    }
    expect(() => decodeStoredConfiguration(bytes.subarray(0, 10), 'f')).toThrow(expect.objectContaining({ code: 'ERR_LOG_CORRUPT' }));
  });

  it('a replica whose log lost the Config entries (retention) restarts with the stored configuration', async () => {
    const c = new MemoryCluster(3, { retention: { maxBytes: 1, checkIntervalMs: 20 }, segmentSizeBytes: 64 * 1024 });
    try {
      await c.startAll();
      const leader = await c.waitForLeader();
      await change(() => leader.addLearner('n3', '127.0.0.1:7001/7101'));
      await c.start('n3', { dir: tempDir(), members: ['n0', 'n1', 'n2'], learners: ['n3'] });
      // Enough entries to roll segments past the Config entry, so retention removes it.
      const payload = Buffer.alloc(4000, 7);
      for (let i = 0; i < 60; i++) await leader.append(payload);
      const follower = c.ids.map((id) => c.nodes.get(id)!).find((l) => l !== leader)!;
      await until('follower compacted past the Config entry', () => follower.status().firstIndex > 3);
      const id = follower.id;
      await c.stop(id);
      const again = await c.start(id);
      expect(again.members().learners.map((m) => m.id)).toEqual(['n3']);
      expect(again.members().learners[0]!.address).toBe('127.0.0.1:7001/7101');
    } finally {
      await c.close();
    }
  }, 60_000);
});
