/**
 * Exactly-once appends: the committed producer base is folded from the runs the write path
 * reports as written (Idempotence.wrote / replaced), not by reading committed entries back
 * from the log. The log is read only below the first index written since open or a reset.
 * A fake host: its log holds `lastIndex` entries, and counts (or forbids) reads.
 */
import { describe, expect, it } from 'vitest';
import { Idempotence, type IdempotenceHost } from '../../src/replica/idempotence.js';
import type { ProducerRun } from '../../src/storage/index.js';
import { decodeProducerBase } from '../../src/replica/producer-file.js';
import type { ProducerStamp, SegmentedLog } from '../../src/storage/index.js';

interface FakeLogEntry {
  index: number;
  term: number;
  producer?: ProducerStamp;
}

function harness(initial: FakeLogEntry[] = []) {
  const entries: FakeLogEntry[] = [...initial];
  let commit = 0;
  const reads: Array<[number, number]> = [];
  const log = {
    get firstIndex() {
      return 1;
    },
    get lastIndex() {
      return entries.length;
    },
    maxEntrySizeBytes: 1 << 20,
    readRange(from: number, end: number) {
      reads.push([from, end]);
      return entries.slice(from - 1, end - 1).map((e) => ({ ...e, data: new Uint8Array(0), pos: 0, type: 0 }));
    },
  };
  const host: IdempotenceHost = {
    log: log as unknown as SegmentedLog,
    appendTimeoutMs: 1000,
    core: { role: 'follower', term: 1 },
    commitIndex: () => commit,
    waitForCommit: () => {},
    stopped: () => undefined,
    write: { stamp: () => {} },
  };
  const idem = new Idempotence(host);
  idem.open();
  return {
    idem,
    reads,
    /** Write entries of one producer run to the fake log and report them as written. */
    write(run: ProducerRun): void {
      if (run.firstIndex <= entries.length) {
        entries.length = run.firstIndex - 1;
        idem.replaced(run.firstIndex);
      }
      for (let k = 0; k < run.count; k++) entries.push({ index: run.firstIndex + k, term: run.term, producer: { ...run.stamp, sequence: run.stamp.sequence + k } });
      idem.wrote([run]);
    },
    commitTo(index: number): void {
      commit = index;
      idem.committed();
    },
    base() {
      return decodeProducerBase(idem.baseBytes()!, 'test');
    },
  };
}

const run = (producerId: number, sequence: number, count: number, firstIndex: number, term = 1): ProducerRun => ({ stamp: { producerId, epoch: 0, sequence }, count, firstIndex, term });

describe('Idempotence: folding written runs', () => {
  it('folds committed runs without reading the log, splitting a run committed in part', () => {
    const h = harness();
    h.write(run(7, 0, 10, 1));
    h.commitTo(4);
    let b = h.base();
    expect(b.upTo).toBe(4);
    expect(b.table.runsOf(7)).toEqual([{ firstSequence: 0, count: 4, firstIndex: 1, term: 1 }]);
    h.commitTo(10);
    b = h.base();
    expect(b.upTo).toBe(10);
    // The two parts are one run again: one producer, consecutive sequences and indexes.
    expect(b.table.runsOf(7)).toEqual([{ firstSequence: 0, count: 10, firstIndex: 1, term: 1 }]);
    expect(h.reads).toEqual([]);
  });

  it('a follower whose uncommitted tail is replaced does not fold the replaced runs', () => {
    const h = harness();
    h.write(run(7, 0, 4, 1, 1));
    h.write(run(8, 0, 6, 5, 1)); // 5..10, never committed
    h.commitTo(6); // 7's run and two of 8's
    h.write(run(9, 0, 3, 8, 2)); // a new leader's entries replace 8..10
    h.commitTo(10);
    const b = h.base();
    expect(b.upTo).toBe(10);
    expect(b.table.runsOf(7)).toEqual([{ firstSequence: 0, count: 4, firstIndex: 1, term: 1 }]);
    // 8's run as kept: 5 and 6 (committed before the replacement) and 7 (kept, committed later); 8..10 were replaced.
    expect(b.table.runsOf(8)).toEqual([{ firstSequence: 0, count: 3, firstIndex: 5, term: 1 }]);
    expect(b.table.runsOf(9)).toEqual([{ firstSequence: 0, count: 3, firstIndex: 8, term: 2 }]);
    expect(h.reads).toEqual([]);
  });

  it('a replaced run that was never committed leaves no trace in the base', () => {
    const h = harness();
    h.write(run(7, 0, 2, 1));
    h.write(run(8, 0, 5, 3)); // 3..7, uncommitted
    h.write(run(9, 0, 5, 3, 2)); // replaces all of 8's
    h.commitTo(7);
    const b = h.base();
    expect(b.table.runsOf(8)).toBeUndefined();
    expect(b.table.runsOf(9)).toEqual([{ firstSequence: 0, count: 5, firstIndex: 3, term: 2 }]);
  });

  it('reads back from the log only what was written before open', () => {
    const before: FakeLogEntry[] = [1, 2, 3].map((i) => ({ index: i, term: 1, producer: { producerId: 5, epoch: 0, sequence: i - 1 } }));
    const h = harness(before);
    h.reads.length = 0; // open's rebuild
    h.write(run(5, 3, 2, 4));
    h.commitTo(5);
    expect(h.reads).toEqual([[1, 4]]);
    expect(h.base().table.runsOf(5)).toEqual([{ firstSequence: 0, count: 5, firstIndex: 1, term: 1 }]);
  });
});
