/**
 * Exactly-once appends at the replica (issue 14): the producer header in the log, the
 * producer table's verdicts, a retry against a new leader after a lost ack, and bad input.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryCluster } from '../support/memory-cluster.js';
import { isRaftLedgerError } from '../../src/errors.js';
import type { Ledger } from '../../src/replica/ledger.js';

let cluster: MemoryCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (error) {
    return isRaftLedgerError(error) ? error.code : (error as Error).name;
  }
}

async function threeNodes(options = {}): Promise<{ c: MemoryCluster; leader: Ledger }> {
  const c = new MemoryCluster(3, options);
  cluster = c;
  await c.startAll();
  const leader = await c.waitForLeader();
  return { c, leader };
}

describe('exactly-once appends (Ledger.append with a producer)', () => {
  it('stores the producer header but reads back only the payload; a retry gets the original index and pos', async () => {
    const { leader } = await threeNodes();
    const producer = { producerId: 77, epoch: 0, sequence: 0 };
    const first = await leader.append([Buffer.from('a'), Buffer.from('b')], { producer });
    const again = await leader.append([Buffer.from('a'), Buffer.from('b')], { producer });
    expect(again).toEqual(first);
    const plain = await leader.append(Buffer.from('plain'));
    expect(plain.index).toBe(first[1]!.index + 1);
    expect(leader.read(first[0]!.index)!.payload.toString()).toBe('a');
    expect(leader.read(first[1]!.index)!.payload.toString()).toBe('b');
    expect(leader.read(plain.index)!.payload.toString()).toBe('plain');
    // The next batch continues at sequence 2.
    const next = await leader.append(Buffer.from('c'), { producer: { producerId: 77, sequence: 2 } });
    expect(next.index).toBe(plain.index + 1);
  });

  it('a retry while the original is still in flight waits for the original and gets its result', async () => {
    const { leader } = await threeNodes();
    const producer = { producerId: 5, sequence: 0 };
    const [a, b] = await Promise.all([leader.append(Buffer.from('x'), { producer }), leader.append(Buffer.from('x'), { producer })]);
    expect(b).toEqual(a);
    expect(leader.lastIndex).toBe(a.index);
  });

  it('scripted: committed, ack lost, the retry goes to a new leader: one entry, the original index and pos', async () => {
    const { c, leader } = await threeNodes();
    const producer = { producerId: 2 ** 40 + 3, epoch: 1, sequence: 0 };
    const payload = Buffer.from('exactly once');
    const original = await leader.append(payload, { producer }); // the client never hears this ack
    await c.waitFor(() => [...c.nodes.values()].every((n) => n.commitIndex >= original.index), 'the entry on every replica');
    await c.stop(leader.id);
    const next = await c.waitForLeader(10_000, leader.id);
    const retried = await next.append(payload, { producer });
    expect(retried).toEqual(original);
    const copies = next.readRange(1, { limit: 1000 }).filter((e) => e.payload.equals(payload));
    expect(copies.length).toBe(1);
    // The new leader carries on from the next sequence.
    const more = await next.append(Buffer.from('after'), { producer: { ...producer, sequence: 1 } });
    expect(more.index).toBeGreaterThan(original.index);
  });

  it('bad input: a sequence gap, a stale epoch, an unknown producer, a sequence reused with other bytes, misuse', async () => {
    const { leader } = await threeNodes();
    await leader.append([Buffer.from('0'), Buffer.from('1')], { producer: { producerId: 9, epoch: 3, sequence: 0 } });
    expect(await codeOf(leader.append(Buffer.from('far'), { producer: { producerId: 9, epoch: 3, sequence: 1_000_000 } }))).toBe('ERR_SEQUENCE_GAP');
    expect(await codeOf(leader.append(Buffer.from('old'), { producer: { producerId: 9, epoch: 2, sequence: 2 } }))).toBe('ERR_PRODUCER_FENCED');
    expect(await codeOf(leader.append(Buffer.from('forged'), { producer: { producerId: 123456, sequence: 17 } }))).toBe('ERR_UNKNOWN_PRODUCER');
    expect(await codeOf(leader.append(Buffer.from('other'), { producer: { producerId: 9, epoch: 3, sequence: 1 } }))).toBe('ERR_SEQUENCE_CONFLICT');
    // The batch shape must match a remembered run: 0..2 overlaps the future.
    expect(await codeOf(leader.append([Buffer.from('0'), Buffer.from('1'), Buffer.from('2')], { producer: { producerId: 9, epoch: 3, sequence: 0 } }))).toBe('ERR_SEQUENCE_CONFLICT');
    expect(await codeOf(leader.append(Buffer.from('x'), { producer: { producerId: 0, sequence: 0 } }))).toBe('RangeError');
    expect(await codeOf(leader.append(Buffer.from('x'), { producer: { producerId: 1, sequence: -1 } }))).toBe('RangeError');
    expect(await codeOf(leader.append(Buffer.from('x'), { producer: { producerId: 1, sequence: 0, epoch: 2 ** 32 } }))).toBe('RangeError');
    // A new epoch starts at 0 and fences the old one.
    await leader.append(Buffer.from('e4'), { producer: { producerId: 9, epoch: 4, sequence: 0 } });
    expect(await codeOf(leader.append(Buffer.from('2'), { producer: { producerId: 9, epoch: 3, sequence: 2 } }))).toBe('ERR_PRODUCER_FENCED');
    // Nothing of the refused appends reached the log.
    const payloads = leader.readRange(1).map((e) => e.payload.toString());
    expect(payloads.filter((p) => ['far', 'old', 'forged', 'other', 'x', '2'].includes(p))).toEqual([]);
  });

  it('an exhausted table evicts the least recently used producer, whose retry is then ERR_UNKNOWN_PRODUCER (never a duplicate)', async () => {
    const { leader } = await threeNodes({ maxProducers: 2 });
    for (const producerId of [1, 2, 3]) await leader.append([Buffer.from(`p${producerId}`), Buffer.from('more')], { producer: { producerId, sequence: 0 } });
    expect(await codeOf(leader.append(Buffer.from('more'), { producer: { producerId: 1, sequence: 1 } }))).toBe('ERR_UNKNOWN_PRODUCER');
    expect(await codeOf(leader.append(Buffer.from('more'), { producer: { producerId: 3, sequence: 1 } }))).toBe('ok');
    expect(leader.readRange(1).filter((e) => e.payload.toString() === 'more').length).toBe(3);
  });

  it('an evicted producer\'s retry of its first batch is ERR_UNKNOWN_PRODUCER, never a second copy; its next epoch appends', async () => {
    const { leader } = await threeNodes({ maxProducers: 2 });
    const first = { producerId: 1, sequence: 0 };
    const original = await leader.append(Buffer.from('first of 1'), { producer: first });
    for (const producerId of [2, 3]) await leader.append(Buffer.from(`p${producerId}`), { producer: { producerId, sequence: 0 } });
    // Producer 1 is evicted; its first batch comes again, sent before with an unknown outcome.
    expect(await codeOf(leader.append(Buffer.from('first of 1'), { producer: { ...first, retry: true } }))).toBe('ERR_UNKNOWN_PRODUCER');
    expect(leader.readRange(1).filter((e) => e.payload.toString() === 'first of 1').map((e) => e.index)).toEqual([original.index]);
    expect(await codeOf(leader.append(Buffer.from('epoch 1'), { producer: { producerId: 1, epoch: 1, sequence: 0 } }))).toBe('ok');
    await expect(leader.append(Buffer.from('x'), { producer: { producerId: 4, sequence: 0, retry: 'yes' as unknown as boolean } })).rejects.toThrow(TypeError);
  });

});
