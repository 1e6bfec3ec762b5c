/** LedgerHost.addLearner/promote/removeMember per group, with the groups on the calling thread and on 2 workers. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LedgerHost, type LedgerHostOptions } from '../../dist/host/index.js';
import { reserveNodeAddresses } from '../../dist/tools/cluster/ports.js';
import { formatMemberAddress } from '../../dist/replica/peers.js';
import { makeTempDir } from '../support/tmp.js';

async function retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (error) {
      const e = error as { code?: string; retriable?: boolean };
      if (i > 500 || e.retriable !== true) throw new Error(`${what}: ${String(error)}`, { cause: error });
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function leaderHost(hosts: Map<string, LedgerHost>, group: number): Promise<LedgerHost> {
  for (let i = 0; i < 1500; i++) {
    for (const h of hosts.values()) if ((await h.status(group).catch(() => undefined))?.role === 'leader') return h;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no leader for group ${group}`);
}

describe.each([0, 2])('LedgerHost membership (workers: %i)', (workers) => {
  it('adds d as a learner in every group, promotes it, removes c, and d serves what was appended', async () => {
    const t = makeTempDir('raftledger-host-members-');
    const all = await reserveNodeAddresses(['a', 'b', 'c', 'd'], workers);
    const three = { a: all.a!, b: all.b!, c: all.c! };
    const G = 2;
    const options = (id: string, peers: LedgerHostOptions['peers'], extra: Partial<LedgerHostOptions> = {}): LedgerHostOptions => ({
      dir: join(t.dir, id), id, peers, workers, groups: G, durability: 'memory', segmentSizeBytes: 1024 * 1024, tickMs: 10, heartbeatTicks: 5, electionTicks: 40, ...extra,
    });
    const hosts = new Map<string, LedgerHost>();
    try {
      for (const id of ['a', 'b', 'c']) hosts.set(id, await LedgerHost.open(options(id, three)));
      const acked: Array<{ group: number; index: number; text: string }> = [];
      for (let g = 0; g < G; g++) {
        const ack = await retry('append', async () => (await leaderHost(hosts, g)).append(g, Buffer.from(`g${g} before`)));
        acked.push({ group: g, index: ack.index, text: `g${g} before` });
      }
      const d = await LedgerHost.open(options('d', all, { learners: ['d'] }));
      hosts.set('d', d);
      // Each attempt asks whoever leads now (leadership may move while the groups settle).
      const atLeader = (g: number, fn: (h: LedgerHost) => Promise<void>) => async (): Promise<void> => fn(await leaderHost(hosts, g));
      for (let g = 0; g < G; g++) {
        await retry('addLearner', atLeader(g, (h) => h.addLearner(g, 'd', formatMemberAddress(all.d!))));
        expect((await (await leaderHost(hosts, g)).members(g)).learners.map((m) => m.id)).toEqual(['d']);
        await retry('promote', atLeader(g, (h) => h.promote(g, 'd')));
        await expect((await leaderHost(hosts, g)).promote(g, 'zz')).rejects.toMatchObject({ code: 'ERR_CONF_CHANGE_INVALID' });
        await retry('remove', atLeader(g, (h) => h.removeMember(g, 'c')));
      }
      await hosts.get('c')!.close();
      hosts.delete('c');
      for (let g = 0; g < G; g++) {
        const ack = await retry('append', async () => (await leaderHost(hosts, g)).append(g, Buffer.from(`g${g} after`)));
        acked.push({ group: g, index: ack.index, text: `g${g} after` });
        expect((await (await leaderHost(hosts, g)).members(g)).voters.map((m) => m.id).sort()).toEqual(['a', 'b', 'd']);
      }
      for (const { group, index, text } of acked) {
        for (let i = 0; i < 1500 && (await d.status(group)).commitIndex < index; i++) await new Promise((r) => setTimeout(r, 10));
        expect((await d.read(group, index))?.payload.toString()).toBe(text);
      }
    } finally {
      await Promise.all([...hosts.values()].map((h) => h.close()));
      t.cleanup();
    }
  }, 90_000);
});
