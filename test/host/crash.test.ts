import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { RaftLedgerError } from '../../dist/errors.js';
import { LedgerHost, type WorkerExitInfo } from '../../dist/host/index.js';
import { crashWorker } from '../../dist/host/internal.js';
import { appendVia, leaderOf, openNodes, records, waitForLeaders, waitUntil, IDS, type Nodes } from './helpers.js';

let nodes: Nodes | undefined;
afterEach(async () => {
  await nodes?.close();
  nodes = undefined;
});

describe('LedgerHost: a worker thread dies', () => {
  it('the crash hook is keyed by a symbol that only the internal module exports', async () => {
    const proto = LedgerHost.prototype as unknown as Record<PropertyKey, unknown>;
    expect(Object.getOwnPropertyNames(LedgerHost.prototype).filter((name) => name.startsWith('__'))).toEqual([]);
    expect(typeof proto[crashWorker]).toBe('function');
    const entry = (await import('../../dist/index.js')) as Record<string, unknown>;
    const host = (await import('../../dist/host/index.js')) as Record<string, unknown>;
    for (const exports of [entry, host]) expect(Object.values(exports)).not.toContain(crashWorker);
  });

  for (const how of ['exit', 'throw'] as const) {
    it(`(${how === 'exit' ? 'process.exit(1) inside it' : 'an uncaught throw'}): in-flight appends reject retriably, the worker restarts, its groups reopen from disk, nothing acknowledged is lost`, async () => {
      const G = 4;
      nodes = await openNodes(2, G, 'fsync');
      await waitForLeaders(nodes, G);
      const group = 0; // on worker 0, with group 2
      const victimId = (await leaderOf(nodes, group))!;
      const victim = nodes.hosts.get(victimId)!;
      const acked = new Map<number, string>();
      for (let i = 0; i < 50; i++) {
        const ack = await appendVia(nodes, group, Buffer.from(`before-${i}`));
        acked.set(ack.index, `before-${i}`);
      }
      const exits: WorkerExitInfo[] = [];
      victim.on('workerExit', (info) => exits.push(info));
      const restarted = new Promise<{ worker: number; groups: number[] }>((resolve) => victim.once('workerRestart', resolve));
      const threadBefore = (await victim.status()).workers[0]!.threadId;

      // Appends in flight on worker 0 (posted, waiting for their fsync quorum) when it dies.
      const inflight = Array.from({ length: 200 }, (_, i) =>
        victim.append(group, Buffer.from(`inflight-${i}`)).then(
          (ack) => ({ ok: true as const, ack, text: `inflight-${i}` }),
          (error: unknown) => ({ ok: false as const, error }),
        ),
      );
      await new Promise((r) => setImmediate(r)); // the batch is posted
      victim[crashWorker](0, how);
      const settled = await Promise.race([Promise.all(inflight), new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
      expect(settled, 'in-flight appends must settle, never hang').not.toBeNull();
      const rejected = settled!.filter((r) => !r.ok);
      for (const r of settled!) if (r.ok) acked.set(r.ack.index, r.text);
      expect(rejected.length).toBeGreaterThan(0);
      for (const r of rejected) {
        const e = (r as { error: RaftLedgerError }).error;
        expect(e).toBeInstanceOf(RaftLedgerError);
        expect(e.retriable).toBe(true);
      }
      expect(rejected.some((r) => (r as { error: RaftLedgerError }).error.code === 'ERR_UNAVAILABLE')).toBe(true);

      // While it restarts, calls to its groups fail fast and retriably; other workers' groups are untouched.
      const during = await victim.append(2, Buffer.from('x')).catch((e: unknown) => e);
      if (during instanceof RaftLedgerError) expect(during.retriable).toBe(true);
      await appendVia(nodes, 1, Buffer.from('worker-1-still-serves'));

      const info = await restarted;
      expect(info).toEqual({ worker: 0, groups: [0, 2], threadId: expect.any(Number) });
      expect(exits).toHaveLength(1);
      expect(exits[0]!.groups).toEqual([0, 2]);
      const after = await victim.status();
      expect(after.workers[0]!.restarts).toBe(1);
      expect(after.workers[0]!.threadId).not.toBe(threadBefore);
      expect(after.groups.map((g) => g.group)).toEqual([0, 1, 2, 3]);

      // The group serves again (through whichever node leads now) and keeps every acknowledged entry.
      for (let i = 0; i < 20; i++) {
        const ack = await appendVia(nodes, group, Buffer.from(`after-${i}`));
        acked.set(ack.index, `after-${i}`);
      }
      const last = Math.max(...acked.keys());
      await waitUntil(async () => {
        for (const h of nodes!.hosts.values()) if ((await h.status(group)).commitIndex < last) return false;
        return true;
      }, 'every node to commit the group');
      await Promise.all([...nodes.hosts.values()].map((h) => h.close()));
      const logs = await Promise.all(IDS.map((id) => records(join(nodes!.dir, id, `group-${group}`), last)));
      expect(logs[1]).toEqual(logs[0]);
      expect(logs[2]).toEqual(logs[0]);
      for (const [index, text] of acked) expect(Buffer.from(logs[0]![index - 1]!, 'base64').subarray(48).toString()).toBe(text);
    });
  }
});
