/** Three LedgerHosts (nodes a, b, c) in this process on loopback, loaded from dist/ like the servers. */
import { join } from 'node:path';
import { LedgerHost, type LedgerHostOptions } from '../../dist/host/index.js';
import type { HostInternals } from '../../dist/host/internal.js';
import { reserveNodeAddresses } from '../../dist/tools/cluster/ports.js';
import { SegmentedLog } from '../../dist/storage/index.js';
import { makeTempDir } from '../support/tmp.js';

export const IDS = ['a', 'b', 'c'] as const;

export interface Nodes {
  hosts: Map<string, LedgerHost>;
  dir: string;
  logs: string[];
  options: (id: string) => LedgerHostOptions;
  close(): Promise<void>;
}

export async function openNodes(
  workers: number,
  groups: number,
  durability: 'fsync' | 'memory' = 'memory',
  extra: Partial<LedgerHostOptions> = {},
  internals: HostInternals = {},
): Promise<Nodes> {
  const t = makeTempDir('raftledger-host-');
  const peers = await reserveNodeAddresses(IDS, workers);
  const logs: string[] = [];
  const options = (id: string): LedgerHostOptions => ({
    dir: join(t.dir, id),
    id,
    peers,
    workers,
    groups,
    durability,
    segmentSizeBytes: 1024 * 1024,
    tickMs: 10,
    heartbeatTicks: 5,
    electionTicks: 40,
    log: (line) => {
      logs.push(`${id} | ${line}`);
      if (logs.length > 4000) logs.splice(0, 2000);
    },
    ...extra,
  });
  const hosts = new Map<string, LedgerHost>();
  const opened = await Promise.all(IDS.map((id) => LedgerHost.open(options(id), internals)));
  IDS.forEach((id, i) => hosts.set(id, opened[i]!));
  return {
    hosts,
    dir: t.dir,
    logs,
    options,
    async close() {
      await Promise.all([...hosts.values()].map((h) => h.close()));
      t.cleanup();
    },
  };
}

/** The id of the host leading `group` in the highest term, or undefined. */
export async function leaderOf(nodes: Nodes, group: number): Promise<string | undefined> {
  let best: { id: string; term: number } | undefined;
  for (const [id, h] of nodes.hosts) {
    const s = await h.status(group).catch(() => undefined);
    if (s?.role === 'leader' && (best === undefined || s.term > best.term)) best = { id, term: s.term };
  }
  return best?.id;
}

/** Leaders of every group (waits until each has one). */
export async function waitForLeaders(nodes: Nodes, groups: number, timeoutMs = 30_000): Promise<Map<number, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leaders = new Map<number, string>();
    const all = await Promise.all([...nodes.hosts.entries()].map(async ([id, h]) => ({ id, s: await h.status() })));
    for (const { id, s } of all) for (const g of s.groups) if (g.role === 'leader') leaders.set(g.group, id);
    if (leaders.size === groups) return leaders;
    if (Date.now() > deadline) throw new Error(`only ${leaders.size}/${groups} groups have a leader after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function waitUntil(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A group's records [1, upTo] on one node, as base64 of the on-disk bytes. */
export async function records(dir: string, upTo: number): Promise<string[]> {
  const log = await SegmentedLog.open({ dir, readOnly: true });
  try {
    const out: string[] = [];
    for (const e of log.entries(1)) {
      if (e.index > upTo) break;
      out.push(e.record.toString('base64'));
    }
    return out;
  } finally {
    await log.close();
  }
}

/** Append through the current leader of `group`, retrying retriable errors (not-leader, unavailable). */
export async function appendVia(nodes: Nodes, group: number, payload: Buffer, timeoutMs?: number): Promise<{ index: number; pos: number }>;
export async function appendVia(nodes: Nodes, group: number, payload: Buffer[], timeoutMs?: number): Promise<Array<{ index: number; pos: number }>>;
export async function appendVia(nodes: Nodes, group: number, payload: Buffer | Buffer[], timeoutMs = 20_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const id = await leaderOf(nodes, group);
    if (id !== undefined) {
      try {
        return await nodes.hosts.get(id)!.append(group, payload as Buffer[], { copy: true });
      } catch (error) {
        if ((error as { retriable?: boolean }).retriable !== true) throw error;
      }
    }
    if (Date.now() > deadline) throw new Error(`could not append to group ${group} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 30));
  }
}
