/** The history checker, fed hand-made histories that break each rule (and ones that don't). */
import { describe, expect, it } from 'vitest';
import type { EntryTypeName } from '../../src/entry.js';
import { check, type ReplicaEntry, type ReplicaLog } from '../../src/tools/check/checker.js';
import type { AppendOp, Op, ReadOp } from '../../src/tools/check/history.js';

const SIZE = 16;
const crcOf = (seq: number): number => 1000 + seq;
const posOf = (index: number): number => (index - 1) * (48 + SIZE);

function entry(index: number, seq: number | undefined, term = 1, type: EntryTypeName = 'normal'): ReplicaEntry {
  return { index, term, pos: posOf(index), type, size: type === 'normal' ? SIZE : 0, crc: type === 'normal' && seq !== undefined ? crcOf(seq) : type === 'normal' ? 7 : 0, seq };
}

function ok(seq: number, index: number, invokeMs: number, completeMs: number): AppendOp {
  return { kind: 'append', seq, invokeMs, completeMs, outcome: 'ok', index, pos: posOf(index), size: SIZE, crc: crcOf(seq) };
}

function op(seq: number, outcome: 'failed' | 'unknown', invokeMs: number, completeMs: number, extra: Partial<AppendOp> = {}): AppendOp {
  return { kind: 'append', seq, invokeMs, completeMs, outcome, size: SIZE, crc: crcOf(seq), ...extra };
}

/** Three replicas with the same log, all committed. */
function replicas(entries: ReplicaEntry[]): ReplicaLog[] {
  const commit = entries.length === 0 ? 0 : entries[entries.length - 1]!.index;
  return ['n0', 'n1', 'n2'].map((id) => ({ id, commitIndex: commit, entries: entries.map((e) => ({ ...e })) }));
}

// A good history: seq s at index s + 1 (index 1 is the leader's no-op).
const goodOps = (): Op[] => [ok(1, 2, 0, 10), ok(2, 3, 11, 20), op(3, 'unknown', 21, 30), ok(4, 5, 31, 40), op(5, 'failed', 41, 42)];
const goodLog = (): ReplicaEntry[] => [entry(1, undefined, 1, 'noop'), entry(2, 1), entry(3, 2), entry(4, 3), entry(5, 4)];

describe('checker', () => {
  it('accepts a correct history (an unknown append present once, a failed one absent)', () => {
    const v = check(goodOps(), replicas(goodLog()));
    expect(v.violations).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.stats).toMatchObject({ acknowledged: 3, failed: 1, unknown: 1, unknownCommitted: 1, lost: 0 });
  });

  it('accepts an unknown append that is absent', () => {
    const log = [entry(1, undefined, 1, 'noop'), entry(2, 1), entry(3, 2), entry(4, 4)];
    const ops = [ok(1, 2, 0, 10), ok(2, 3, 11, 20), op(3, 'unknown', 21, 30), ok(4, 4, 31, 40)];
    expect(check(ops, replicas(log)).ok).toBe(true);
  });

  it('lost: an acknowledged append missing from the log', () => {
    const log = goodLog().filter((e) => e.seq !== 2);
    const v = check(goodOps().filter((o) => !(o.kind === 'append' && o.seq === 3)), replicas(log.map((e, i) => ({ ...e, index: i + 1, pos: posOf(i + 1) }))));
    expect(v.counts.lost).toBeGreaterThan(0);
    expect(v.stats.lost).toBeGreaterThan(0);
    expect(v.ok).toBe(false);
  });

  it('moved: an acknowledged append committed at another index', () => {
    const ops = goodOps();
    (ops[0] as AppendOp).index = 4;
    (ops[0] as AppendOp).pos = posOf(4);
    const v = check(ops, replicas(goodLog()));
    expect(v.counts.moved).toBe(1);
  });

  it('changed: the acknowledged index holds the id with other bytes', () => {
    const log = goodLog();
    log[1] = { ...log[1]!, crc: 12345 };
    const v = check(goodOps(), replicas(log));
    expect(v.counts.changed).toBe(1);
  });

  it('duplicate: an id committed twice (not allowed even for unknown outcomes)', () => {
    const log = [...goodLog(), { ...entry(6, 3) }];
    const v = check(goodOps(), replicas(log));
    expect(v.counts.duplicate).toBe(1);
    expect(v.stats.duplicated).toBe(1);
  });

  it('a retried (at-least-once) op may be committed twice: counted, not a violation', () => {
    const ops = goodOps();
    (ops[2] as AppendOp).retried = true;
    const v = check(ops, replicas([...goodLog(), entry(6, 3)]));
    expect(v.ok).toBe(true);
    expect(v.stats.clientRetryDuplicates).toBe(1);
  });

  it('with exactly-once appends on (idempotent), a retried op committed twice is a duplicate violation', () => {
    const ops = goodOps();
    (ops[2] as AppendOp).retried = true;
    const v = check(ops, replicas([...goodLog(), entry(6, 3)]), { idempotent: true });
    expect(v.ok).toBe(false);
    expect(v.counts.duplicate).toBe(1);
    expect(v.stats.clientRetryDuplicates).toBe(0);
  });

  it('phantom: a committed entry nobody appended (unknown id, or foreign bytes)', () => {
    const v1 = check(goodOps(), replicas([...goodLog(), entry(6, 99)]));
    expect(v1.counts.phantom).toBe(1);
    const v2 = check(goodOps(), replicas([...goodLog(), entry(6, undefined)]));
    expect(v2.counts.phantom).toBe(1);
  });

  it('failed-committed: a definitely failed append is in the log', () => {
    const v = check(goodOps(), replicas([...goodLog(), entry(6, 5)]));
    expect(v.counts['failed-committed']).toBe(1);
  });

  it('reordered: acknowledged before another was invoked, yet a larger index', () => {
    // seq 1 acknowledged at index 3 at t=10; seq 2 invoked at t=11 and acknowledged at index 2.
    const ops: Op[] = [ok(1, 3, 0, 10), ok(2, 2, 11, 20)];
    const log = [entry(1, undefined, 1, 'noop'), entry(2, 2), entry(3, 1)];
    const v = check(ops, replicas(log));
    expect(v.counts.reordered).toBe(1);
    // Concurrent operations may commit in any order.
    const concurrent: Op[] = [ok(1, 3, 0, 10), ok(2, 2, 5, 20)];
    expect(check(concurrent, replicas(log)).ok).toBe(true);
  });

  it('reordered: an unknown-outcome append found below one acknowledged before it began', () => {
    const ops: Op[] = [ok(1, 3, 0, 10), op(2, 'unknown', 11, 20)];
    const log = [entry(1, undefined, 1, 'noop'), entry(2, 2), entry(3, 1)];
    expect(check(ops, replicas(log)).counts.reordered).toBe(1);
  });

  it('divergent: two replicas that consider an index committed hold different entries', () => {
    const logs = replicas(goodLog());
    logs[2]!.entries[3] = { ...logs[2]!.entries[3]!, term: 2 };
    const v = check(goodOps(), logs);
    expect(v.counts.divergent).toBe(1);
  });

  it('an uncommitted divergent tail on one replica is not a violation', () => {
    const logs = replicas(goodLog());
    logs[2]!.commitIndex = 4;
    logs[2]!.entries[4] = { ...entry(5, 77, 1) };
    expect(check(goodOps(), logs).ok).toBe(true);
  });

  it('missing-committed: a committed index that no replica holds', () => {
    const logs = replicas(goodLog().slice(0, 4));
    logs[0]!.commitIndex = 6;
    const v = check(goodOps().slice(0, 3), logs);
    expect(v.counts['missing-committed']).toBeGreaterThan(0);
  });

  it('bad-read: a read returned an entry that is not the committed one', () => {
    const good: ReadOp = { kind: 'read', index: 2, invokeMs: 50, completeMs: 51, outcome: 'ok', result: { seq: 1, pos: posOf(2), term: 1, crc: crcOf(1), size: SIZE } };
    expect(check([...goodOps(), good], replicas(goodLog())).ok).toBe(true);
    const rolledBack: ReadOp = { ...good, index: 3, result: { seq: 9, pos: posOf(3), term: 1, crc: crcOf(9), size: SIZE } };
    expect(check([...goodOps(), rolledBack], replicas(goodLog())).counts['bad-read']).toBe(1);
    const beyond: ReadOp = { ...good, index: 9, result: { seq: 9, pos: posOf(9), term: 1, crc: crcOf(9), size: SIZE } };
    expect(check([...goodOps(), beyond], replicas(goodLog())).counts['bad-read']).toBe(1);
  });

  it('memory mode: loss allowed only past the quorum-durable position of a whole-cluster power loss', () => {
    // seq 4 (index 5) lost; it was acknowledged at t=40 before a power loss at t=45.
    const log = goodLog().slice(0, 4);
    const ops = goodOps().slice(0, 4);
    const lossAfter = check(ops, replicas(log), { powerLosses: [{ atMs: 45, durablePos: posOf(5) }] });
    expect(lossAfter.ok).toBe(true);
    expect(lossAfter.stats.allowedLoss).toBe(1);
    // The same loss with the entry durable on a quorum is a violation.
    expect(check(ops, replicas(log), { powerLosses: [{ atMs: 45, durablePos: posOf(6) }] }).counts.lost).toBe(1);
    // And so is a loss of an entry acknowledged after the power loss.
    expect(check(ops, replicas(log), { powerLosses: [{ atMs: 35, durablePos: 0 }] }).counts.lost).toBe(1);
  });
});

describe('checker: memory-mode reads', () => {
  it('a read of an entry a later whole-cluster power loss took away is allowed; other bad reads are not', () => {
    const read: ReadOp = { kind: 'read', index: 5, invokeMs: 41, completeMs: 42, outcome: 'ok', result: { seq: 4, pos: posOf(5), term: 1, crc: crcOf(4), size: SIZE } };
    const log = [...goodLog().slice(0, 4), entry(5, 9, 2)];
    const ops = [...goodOps().slice(0, 3), ok(9, 5, 50, 60), read];
    expect(check(ops, replicas(log), { powerLosses: [{ atMs: 45, durablePos: posOf(5) }] }).counts['bad-read']).toBe(0);
    expect(check(ops, replicas(log), { powerLosses: [{ atMs: 45, durablePos: posOf(6) }] }).counts['bad-read']).toBe(1);
  });
});
