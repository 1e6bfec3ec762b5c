/**
 * SegmentedLog.appendEntries with producer spans (storage/log/types.ts ProducerSpan): the
 * entries a span covers are written with a producer header, sequences counting up from the
 * span's stamp, and read back with it; the others are plain records; spans that overlap,
 * go backwards or reach past the entries are a RangeError and write nothing.
 */
import { describe, expect, it } from 'vitest';
import { SegmentedLog } from '../../src/index.js';
import { useTempDirs } from '../support/tmp.js';

const tempDir = useTempDirs();

describe('appendEntries with producer spans', () => {
  it('stamps exactly the covered entries, one sequence each, and reads them back after a reopen', async () => {
    const dir = tempDir();
    const log = await SegmentedLog.open({ dir, segmentSizeBytes: 64 * 1024 });
    const entries = Array.from({ length: 6 }, (_, i) => ({ term: 2, data: Buffer.from(`payload-${i}`) }));
    const big = 2 ** 52 + 7;
    const result = log.appendEntries(entries, true, [
      { offset: 1, count: 2, stamp: { producerId: big, epoch: 3, sequence: 2 ** 40 } },
      { offset: 3, count: 1, stamp: { producerId: 5, epoch: 0, sequence: 0 } },
      { offset: 5, count: 1, stamp: { producerId: big, epoch: 3, sequence: 2 ** 40 + 2 } },
    ]);
    expect(result.records).toHaveLength(6);
    await log.flush();
    await log.close();
    const again = await SegmentedLog.open({ dir });
    const read = again.readRange(1, 7);
    expect(read.map((e) => e.data.toString())).toEqual(entries.map((e) => e.data.toString()));
    expect(read.map((e) => e.producer)).toEqual([
      undefined,
      { producerId: big, epoch: 3, sequence: 2 ** 40 },
      { producerId: big, epoch: 3, sequence: 2 ** 40 + 1 },
      { producerId: 5, epoch: 0, sequence: 0 },
      undefined,
      { producerId: big, epoch: 3, sequence: 2 ** 40 + 2 },
    ]);
    // A stamped record is the producer header longer than a plain one of the same payload.
    expect(result.records[1]!.byteLength - result.records[0]!.byteLength).toBe(24);
    await again.close();
  });

  it('refuses spans that overlap, go backwards, are empty or reach past the entries, writing nothing', async () => {
    const log = await SegmentedLog.open({ dir: tempDir(), segmentSizeBytes: 64 * 1024 });
    const entries = Array.from({ length: 3 }, () => ({ term: 1, data: Buffer.from('x') }));
    const stamp = { producerId: 1, epoch: 0, sequence: 0 };
    for (const spans of [
      [{ offset: 0, count: 2, stamp }, { offset: 1, count: 1, stamp }],
      [{ offset: 2, count: 1, stamp }, { offset: 0, count: 1, stamp }],
      [{ offset: 0, count: 0, stamp }],
      [{ offset: 2, count: 2, stamp }],
      [{ offset: -1, count: 1, stamp }],
    ]) {
      expect(() => log.appendEntries(entries, true, spans)).toThrow(RangeError);
    }
    expect(log.lastIndex).toBe(0);
    await log.close();
  });
});
