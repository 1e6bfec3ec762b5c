import { describe, expect, it } from 'vitest';
import { PendingAppends, type AppendAck } from '../../src/replica/pending.js';

function batch(p: PendingAppends, firstIndex: number, count: number, term: number) {
  const outcome: { acks?: AppendAck[]; error?: Error } = {};
  p.push({ firstIndex, count, term, deadlineMs: 1000, proposedMs: 0, resolve: (acks) => (outcome.acks = acks), reject: (e) => (outcome.error = e) });
  return outcome;
}

describe('PendingAppends verdicts', () => {
  it('a batch of an earlier leadership whose indexes reach past a later batch does not hold that one back', () => {
    // Term 4 proposed 45..48; its entries were replaced (a term-5 no-op at 45), and this node
    // leads term 6 with a shorter log: its no-op at 46, a batch at 47. Once 47 commits, that
    // batch is answered; the term-4 batch keeps waiting for the commit index to pass 48.
    const p = new PendingAppends();
    const stale = batch(p, 45, 4, 4);
    const later = batch(p, 47, 1, 6);
    const termAt = (i: number): number => (i === 45 ? 5 : 6);
    p.commit(47, termAt, (i) => i * 10);
    expect(later.acks).toEqual([{ index: 47, pos: 470 }]);
    expect(stale.acks ?? stale.error).toBeUndefined();
    expect(p.size).toBe(4);
    const next = batch(p, 48, 1, 6);
    p.commit(48, termAt, (i) => i * 10);
    expect(stale.error).toMatchObject({ code: 'ERR_NOT_LEADER' });
    expect(next.acks).toEqual([{ index: 48, pos: 480 }]);
    expect(p.size).toBe(0);
  });

  it('resolves a batch once committed with its own term, with each pos', () => {
    const p = new PendingAppends();
    const a = batch(p, 5, 3, 2);
    p.commit(6, () => 2, (i) => i * 100);
    expect(a.acks).toBeUndefined(); // not wholly committed yet
    p.commit(7, () => 2, (i) => i * 100);
    expect(a.acks).toEqual([
      { index: 5, pos: 500 },
      { index: 6, pos: 600 },
      { index: 7, pos: 700 },
    ]);
    expect(p.size).toBe(0);
  });

  it('a batch whose indexes were truncated locally waits for the committed term: a later leader may still commit it', () => {
    // The proposer's copy was overwritten by a term-4 leader, but another replica kept the
    // term-3 entry and a term-5 leader committed it: the append succeeded.
    const p = new PendingAppends();
    const kept = batch(p, 10, 1, 3);
    p.commit(10, () => 3, () => 4242);
    expect(kept.error).toBeUndefined();
    expect(kept.acks).toEqual([{ index: 10, pos: 4242 }]);
  });

  it('rejects with a retriable ERR_NOT_LEADER only when another term is committed at its indexes', () => {
    const p = new PendingAppends();
    const lost = batch(p, 10, 2, 3);
    p.commit(11, (i) => (i === 10 ? 3 : 4), () => 0);
    expect(lost.acks).toBeUndefined();
    expect(lost.error).toMatchObject({ code: 'ERR_NOT_LEADER', retriable: true });
  });

  it('expires batches past their deadline with ERR_TIMEOUT (outcome unknown) and rejectAll empties it', () => {
    const p = new PendingAppends();
    const a = batch(p, 1, 1, 1);
    p.expire(999);
    expect(a.error).toBeUndefined();
    p.expire(1000);
    expect(a.error).toMatchObject({ code: 'ERR_TIMEOUT' });
    const b = batch(p, 2, 4, 1);
    expect(p.size).toBe(4);
    p.rejectAll(new Error('closed'));
    expect(b.error?.message).toBe('closed');
    expect(p.size).toBe(0);
  });
});
