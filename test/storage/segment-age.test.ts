/**
 * Segment age (docs/FORMAT.md): when the writer rolls past a segment its mtime is set to
 * the time of the append that wrote its newest entry, and retention by age measures from it.
 */
import { describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { SegmentedLog } from '../../src/index.js';
import { useTempDirs } from '../support/tmp.js';

const tempDir = useTempDirs('raftledger-age-');
const SEGMENT = 64 * 1024;

describe('segment age', () => {
  it('a left segment carries the time of its newest entry, and maxAgeMs drops it only once older', async () => {
    const log = await SegmentedLog.open({ dir: tempDir(), segmentSizeBytes: SEGMENT, preallocate: false });
    try {
      // Fill segment 0 (16 records of 4048 bytes fit in 64 KiB), then wait, then roll.
      for (let i = 0; i < 15; i++) log.append(Buffer.alloc(4000, i));
      const beforeNewest = Date.now();
      log.append(Buffer.alloc(4000, 14));
      const afterNewest = Date.now();
      await new Promise((r) => setTimeout(r, 30));
      const beforeRoll = Date.now();
      for (let i = 0; i < 20; i++) log.append(Buffer.alloc(4000, 100 + i));
      expect(log.segmentCount).toBeGreaterThanOrEqual(2);
      const first = log.segments()[0]!;
      const mtimeMs = statSync(first.path).mtimeMs;
      // The newest entry's time, not the roll's (allow the filesystem's timestamp rounding of 1 ms).
      expect(mtimeMs).toBeGreaterThanOrEqual(beforeNewest - 1);
      expect(mtimeMs).toBeLessThanOrEqual(afterNewest + 1);
      expect(mtimeMs).toBeLessThan(beforeRoll);
      await log.flush();
      const keep = log.lastIndex;
      expect(await log.applyRetention({ maxAgeMs: 1000, keepFromIndex: keep, nowMs: mtimeMs + 999 })).toBe(1);
      const firstAfter = await log.applyRetention({ maxAgeMs: 1000, keepFromIndex: keep, nowMs: mtimeMs + 1001 });
      expect(firstAfter).toBe(17);
    } finally {
      await log.close();
    }
  });
});
