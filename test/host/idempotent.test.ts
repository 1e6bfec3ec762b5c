/**
 * LedgerHost passes exactly-once appends through to the group's Ledger, on the calling
 * thread and on worker threads: a retried stamp gets the original acks, a gap its code.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isRaftLedgerError } from '../../dist/errors.js';
import { openNodes, waitForLeaders, type Nodes } from './helpers.js';

let nodes: Nodes | undefined;
afterEach(async () => {
  await nodes?.close();
  nodes = undefined;
});

describe('LedgerHost.append({ producer })', { timeout: 60_000 }, () => {
  for (const workers of [0, 1]) {
    it(`deduplicates a retried stamp and refuses a gap (workers ${workers})`, async () => {
      nodes = await openNodes(workers, 2);
      const leaders = await waitForLeaders(nodes, 2);
      const host = nodes.hosts.get(leaders.get(1)!)!;
      const producer = { producerId: 4242, epoch: 1, sequence: 0 };
      const first = await host.append(1, [Buffer.from('a'), Buffer.from('b')], { producer });
      const again = await host.append(1, [Buffer.from('a'), Buffer.from('b')], { producer, copy: true });
      expect(again).toEqual(first);
      const gap = await host.append(1, Buffer.from('c'), { producer: { ...producer, sequence: 7 } }).then(
        () => 'ok',
        (e: unknown) => (isRaftLedgerError(e) ? e.code : String(e)),
      );
      expect(gap).toBe('ERR_SEQUENCE_GAP');
      expect((await host.read(1, first[1]!.index))!.payload.toString()).toBe('b');
    });
  }
});
