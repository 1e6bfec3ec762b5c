/**
 * Exactly-once appends across retention (issue 14): a producer whose entries retention
 * removed, and that is older than the rebuild window, is still known to a replica that was
 * running when they were removed (the committed base of idempotence.ts). Before, a new
 * leader rebuilt its table from the window only: the retry of the producer's first batch
 * (sequence 0) was appended a second time, and its next batch got ERR_UNKNOWN_PRODUCER.
 * Also: a replica builds its table when it opens.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualNet } from './manual-net.js';

let net: ManualNet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

describe('the producer table across retention', { timeout: 120_000 }, () => {
  // checkIntervalMs 1000: the first retention pass comes after far more than the window of
  // 20 entries committed, which the fold once skipped (the retry was appended again).
  it.each([20, 1000])('a retry of a first batch removed by retention is refused, and the producer goes on at its next sequence (retention every %i ms)', async (checkIntervalMs) => {
    const n = new ManualNet(3, {
      segmentSizeBytes: 64 * 1024,
      producerWindowEntries: 20,
      retention: { maxBytes: 128 * 1024, holdForFollowersMs: 0, checkIntervalMs },
    });
    net = n;
    await n.startAll();
    const a = n.node('n0');
    const b = n.node('n1');
    a.receive({ type: 'timeoutNow', from: 'n0', to: 'n0', term: a.term });
    await n.run(() => a.role === 'leader' && a.commitIndex === a.lastIndex, 'n0 leads');
    const firstAck = a.append([Buffer.from('first')], { producer: { producerId: 7, sequence: 0 } });
    await n.run(() => a.commitIndex >= 2, 'the first batch commits');
    const [first] = await firstAck;
    // Enough of another producer's entries that retention removes the first batch everywhere.
    const payload = Buffer.alloc(1000, 1);
    for (let s = 0; s < 400; s += 10) {
      const acks = a.append(Array.from({ length: 10 }, () => payload), { producer: { producerId: 8, sequence: s } });
      let done = false;
      void acks.then(() => (done = true));
      await n.run(() => done, `producer 8 sequence ${s}`);
    }
    await n.run(() => b.commitIndex === a.lastIndex && b.status().firstIndex > first!.index, 'retention on n1 removes the first batch');

    b.receive({ type: 'timeoutNow', from: 'n0', to: 'n1', term: b.term });
    await n.run(() => b.role === 'leader' && b.commitIndex === b.lastIndex, 'n1 leads');
    const lastBefore = b.lastIndex;
    const retry = b.append([Buffer.from('first')], { producer: { producerId: 7, sequence: 0 } });
    await expect(retry).rejects.toMatchObject({ code: 'ERR_SEQUENCE_CONFLICT' });
    expect(b.lastIndex, 'nothing appended for the retry').toBe(lastBefore);
    const nextAck = b.append([Buffer.from('second')], { producer: { producerId: 7, sequence: 1 } });
    let next: Array<{ index: number }> | undefined;
    void nextAck.then((r) => (next = r));
    await n.run(() => next !== undefined, 'producer 7 sequence 1');
    expect(next![0]!.index).toBe(lastBefore + 1);
  });
});
