/**
 * The producer table alone: one update per batch, runs merged and capped, LRU eviction,
 * and its memory per producer (measured: the figure of issue 14's note).
 */
import { describe, expect, it } from 'vitest';
import { ProducerTable, RUNS_PER_PRODUCER } from '../../src/replica/producer-table.js';

describe('ProducerTable', () => {
  it('merges back-to-back batches into one run and keeps at most RUNS_PER_PRODUCER runs', () => {
    const t = new ProducerTable(10);
    t.record({ producerId: 1, epoch: 0, sequence: 0 }, 3, 10, 1);
    t.record({ producerId: 1, epoch: 0, sequence: 3 }, 2, 13, 1);
    expect(t.runsOf(1)).toEqual([{ firstSequence: 0, count: 5, firstIndex: 10, term: 1 }]);
    expect(t.admit({ producerId: 1, epoch: 0, sequence: 3 }, 2)).toEqual({ kind: 'duplicate', firstIndex: 13, term: 1 });
    for (let k = 0; k < 10; k++) t.record({ producerId: 1, epoch: 0, sequence: 5 + k }, 1, 100 + 2 * k, 1);
    expect(t.runsOf(1)!.length).toBe(RUNS_PER_PRODUCER);
    expect(() => t.admit({ producerId: 1, epoch: 0, sequence: 0 }, 1)).toThrow(expect.objectContaining({ code: 'ERR_SEQUENCE_CONFLICT' }));
    expect(t.admit({ producerId: 1, epoch: 0, sequence: 15 }, 1)).toEqual({ kind: 'new' });
  });

  it('evicts the least recently used producer beyond maxProducers', () => {
    const t = new ProducerTable(2);
    for (const id of [1, 2]) t.record({ producerId: id, epoch: 0, sequence: 0 }, 1, id, 1);
    t.admit({ producerId: 1, epoch: 0, sequence: 0 }, 1); // a duplicate touches producer 1
    t.record({ producerId: 3, epoch: 0, sequence: 0 }, 1, 3, 1);
    expect(t.size).toBe(2);
    expect(t.evictions).toBe(1);
    expect(() => t.admit({ producerId: 2, epoch: 0, sequence: 1 }, 1)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_PRODUCER' }));
    expect(t.admit({ producerId: 1, epoch: 0, sequence: 1 }, 1)).toEqual({ kind: 'new' });
  });

  it('a retry of an unknown producer\'s first batch is refused once the table has forgotten a producer, and accepted before', () => {
    const t = new ProducerTable(2);
    const first = { producerId: 9, epoch: 0, sequence: 0 };
    // Nothing forgotten yet: unknown means never written, so even a retry is new.
    expect(t.admit(first, 1, true)).toEqual({ kind: 'new' });
    for (const id of [1, 2, 3]) t.record({ producerId: id, epoch: 0, sequence: 0 }, 2, 10 * id, 1);
    expect(t.droppedUpTo).toBe(11); // producer 1's run ended at index 11
    expect(() => t.admit({ producerId: 1, epoch: 0, sequence: 0 }, 2, true)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_PRODUCER' }));
    expect(() => t.admit(first, 1, true)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_PRODUCER' }));
    // A first send, and a new epoch of a known producer, are not in doubt.
    expect(t.admit(first, 1)).toEqual({ kind: 'new' });
    expect(t.admit({ producerId: 3, epoch: 1, sequence: 0 }, 1, true)).toEqual({ kind: 'new' });
    // The mark survives a clone (a rebuild starts from the base's clone).
    expect(t.clone().droppedUpTo).toBe(11);
  });

  it('memory per producer with a full set of runs stays under 1 KiB (prints the figure)', () => {
    const n = 20_000;
    const t = new ProducerTable(n);
    globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    for (let id = 1; id <= n; id++) {
      for (let k = 0; k < RUNS_PER_PRODUCER; k++) t.record({ producerId: 2 ** 40 + id, epoch: 0, sequence: k }, 1, id * 100 + 2 * k, 1);
    }
    globalThis.gc?.();
    const perProducer = (process.memoryUsage().heapUsed - before) / n;
    console.log(`producer table: ~${Math.round(perProducer)} bytes per producer with ${RUNS_PER_PRODUCER} runs (${n} producers)`);
    expect(t.size).toBe(n);
    expect(perProducer).toBeLessThan(1024);
  });
});
