/**
 * Exactly-once appends, scripted on a hand-delivered network (manual-net.ts): a leader
 * proposes an idempotent batch, and before its Ready writes the batch a new leader's append
 * arrives, so the core drops the batch unwritten. The batch's producer stamp (write-path.ts)
 * must go with it. Before the fix it stayed queued by index and landed on the next entries
 * this node wrote there as leader: its no-op of a later term was written as a Normal
 * record carrying producer 9 sequence 1 (a phantom empty message in the committed log), and
 * producer 9's first batch was then refused with ERR_SEQUENCE_CONFLICT.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualNet } from './manual-net.js';
import { SegmentedLog } from '../../src/storage/index.js';
import { RecordType } from '../../src/storage/format.js';

let net: ManualNet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

describe('a batch dropped before it was written leaves no producer stamp behind', { timeout: 60_000 }, () => {
  it('the next leader term of that node writes its no-op and batches with their own stamps only', async () => {
    const n = new ManualNet(3);
    net = n;
    await n.startAll();
    const a = n.node('n0');
    const b = n.node('n1');
    a.campaign();
    await n.run(() => a.role === 'leader', 'n0 leads');
    const first = a.append(Buffer.from('x'), { producer: { producerId: 5, sequence: 0 } });
    await n.run(() => a.lastIndex >= 2 && a.commitIndex === a.lastIndex, 'n0 commits its first batch');
    expect(await first).toMatchObject({ index: 2 });

    // n1 leads term 2 with n2 (restarted, so it knows no leader) while n0's mail is held.
    const involvesA = (m: { from: string; to: string }): boolean => m.from === 'n0' || m.to === 'n0';
    await n.stop('n2');
    await n.start('n2');
    b.campaign();
    await n.run(() => b.role === 'leader' && b.commitIndex === b.lastIndex, 'n1 leads', { hold: involvesA });
    const toA = n.take((m) => m.to === 'n0');
    n.queue = n.queue.filter((m) => !involvesA(m));
    expect(toA.some((m) => m.type === 'append' && m.entries.length > 0), 'n1 sent n0 its no-op').toBe(true);

    // n0 still leads term 1: a batch of producer 9 goes to 3..5; n1's messages arrive
    // before n0's Ready runs, so the core replaces 3..5 unwritten with n1's no-op at 3.
    const dropped = a.append([Buffer.from('s0'), Buffer.from('s1'), Buffer.from('s2')], { producer: { producerId: 9, sequence: 0 } });
    dropped.catch(() => {});
    for (const m of toA) n.deliver(m);
    await n.run(() => a.role === 'follower' && a.commitIndex === b.lastIndex, 'n0 follows n1');
    expect(a.lastIndex).toBe(3);

    // n0 leads term 3 (with n2): its no-op goes to 4, where the dropped batch's sequence 1 was.
    await n.stop('n1');
    await n.stop('n2');
    await n.start('n2');
    a.campaign();
    await n.run(() => a.role === 'leader' && a.commitIndex === a.lastIndex, 'n0 leads again');
    // Producer 9's first batch, retried: never committed, so it is new (not a conflict).
    const retried = a.append([Buffer.from('s0'), Buffer.from('s1'), Buffer.from('s2')], { producer: { producerId: 9, sequence: 0 } });
    await n.run(() => a.commitIndex === a.lastIndex && a.lastIndex >= 7, 'the retry commits');
    expect((await retried).map((r) => r.index)).toEqual([5, 6, 7]);

    await n.stop('n0');
    const log = await SegmentedLog.open({ dir: n.dirs.get('n0')!, segmentSizeBytes: 1024 * 1024 });
    try {
      const entries = log.readRange(1, log.lastIndex + 1).map((e) => ({ index: e.index, term: e.term, type: e.type, producer: e.producer && `${e.producer.producerId}/${e.producer.sequence}`, data: e.data.toString() }));
      expect(entries).toEqual([
        { index: 1, term: 1, type: RecordType.Noop, producer: undefined, data: '' },
        { index: 2, term: 1, type: RecordType.Normal, producer: '5/0', data: 'x' },
        { index: 3, term: 2, type: RecordType.Noop, producer: undefined, data: '' },
        { index: 4, term: 3, type: RecordType.Noop, producer: undefined, data: '' },
        { index: 5, term: 3, type: RecordType.Normal, producer: '9/0', data: 's0' },
        { index: 6, term: 3, type: RecordType.Normal, producer: '9/1', data: 's1' },
        { index: 7, term: 3, type: RecordType.Normal, producer: '9/2', data: 's2' },
      ]);
    } finally {
      await log.close();
    }
  });
});
