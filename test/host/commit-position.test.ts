/** LedgerHost.commitPosition for every group (through the worker protocol): consistency levels and bad input. */
import { afterEach, describe, expect, it } from 'vitest';
import { isRaftLedgerError } from '../../dist/errors.js';
import { appendVia, leaderOf, openNodes, waitForLeaders, IDS, type Nodes } from './helpers.js';

let nodes: Nodes | undefined;
afterEach(async () => {
  await nodes?.close();
  nodes = undefined;
});

describe('LedgerHost.commitPosition', () => {
  it('answers linearizable, lease and follower reads per group and refuses bad options', async () => {
    const G = 4;
    nodes = await openNodes(1, G, 'memory');
    await waitForLeaders(nodes, G);
    for (let g = 0; g < G; g++) {
      const ack = await appendVia(nodes, g, Buffer.from(`g${g}`));
      const id = (await leaderOf(nodes, g))!;
      const host = nodes.hosts.get(id)!;
      let lin: { index: number; pos: number } | undefined;
      try {
        lin = await host.commitPosition(g);
      } catch (e) {
        expect(isRaftLedgerError(e, 'ERR_NOT_LEADER')).toBe(true); // leadership moved meanwhile: retriable
        continue;
      }
      expect(lin.index).toBeGreaterThanOrEqual(ack.index);
      expect(lin.pos).toBe((await host.read(g, lin.index))!.pos);
      const follower = nodes.hosts.get(IDS.find((x) => x !== id)!)!;
      const f = await follower.commitPosition(g, { consistency: 'follower' }).catch((e: unknown) => e);
      // Nothing more is appended to g, so a follower knows at most this commit (plus a new term's no-op or two, if leadership moved).
      if (!isRaftLedgerError(f, 'ERR_UNAVAILABLE')) expect((f as { index: number }).index).toBeLessThanOrEqual(lin.index + 2);
    }
    const host = nodes.hosts.get(IDS[0]!)!;
    await expect(host.commitPosition(0, { consistency: 'eventual' as never })).rejects.toThrow(RangeError);
    await expect(host.commitPosition(0, { maxLagMs: 0 })).rejects.toThrow(RangeError);
  });
});
