/**
 * Regressions found by `raftledger torture --faults disk` (seed 11):
 *  - SegmentedLog.open({ truncateCorrupt: true }) cut the log at a zeroed page but left the
 *    valid records that followed it on disk, so the log stayed damaged (verify reported it,
 *    and later appends would have sat in front of stale bytes). Fixed in
 *    src/storage/segmented-log.ts: the tail after the cut is zeroed as after a tear.
 *  - The server's startup policy: a damaged log is refused (ERR_LOG_CORRUPT, with advice to
 *    use --repair) and repaired with --repair, including damage before the last checkpoint
 *    that recovery alone does not see.
 */
import { describe, expect, it } from 'vitest';
import { openSync, writeSync, closeSync, rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SegmentedLog, verifyLog } from '../../dist/storage/index.js';
import { checkLogAtStartup } from '../../dist/storage/startup-check.js';
import { makeTempDir } from '../support/tmp.js';

async function makeLog(dir: string, n: number): Promise<Array<{ index: number; pos: number; size: number }>> {
  const log = await SegmentedLog.open({ dir, segmentSizeBytes: 1 << 20 });
  const out: Array<{ index: number; pos: number; size: number }> = [];
  for (let i = 1; i <= n; i++) {
    const [r] = log.append(Buffer.alloc(200, i & 0xff));
    out.push({ index: r!.index, pos: r!.pos, size: 248 });
  }
  await log.flush();
  await log.close();
  return out;
}

function zero(dir: string, pos: number, bytes: number): void {
  const seg = join(dir, 'log', readdirSync(join(dir, 'log')).sort()[0]!);
  const fd = openSync(seg, 'r+');
  writeSync(fd, Buffer.alloc(bytes), 0, bytes, pos);
  closeSync(fd);
}

describe('damaged logs', () => {
  it('truncateCorrupt after a zeroed page leaves no valid records behind the cut', async () => {
    const t = makeTempDir();
    try {
      const recs = await makeLog(t.dir, 200);
      rmSync(join(t.dir, 'checkpoint'), { force: true }); // recovery scans everything
      // Zeros starting exactly at a record: the scan sees 'unwritten space', then valid records.
      zero(t.dir, recs[99]!.pos, 4096);
      // Issue 16: the index slots chain over the zeros to intact records: listed as damaged, nothing cut.
      const kept = await SegmentedLog.open({ dir: t.dir });
      expect(kept.lastIndex).toBe(200);
      const zeroed = recs.filter((r) => r.pos + r.size > recs[99]!.pos && r.pos < recs[99]!.pos + 4096).map((r) => r.index);
      expect(kept.damaged.map((d) => d.index)).toEqual(zeroed);
      await kept.close();
      rmSync(join(t.dir, 'checkpoint'), { force: true });
      const log = await SegmentedLog.open({ dir: t.dir, truncateCorrupt: true });
      expect(log.lastIndex).toBeLessThan(100);
      await log.close();
      const report = await verifyLog(t.dir);
      expect(report.damage.filter((d) => d.kind !== 'index')).toEqual([]);
    } finally {
      t.cleanup();
    }
  });

  it('the server refuses a log damaged before its checkpoint, and --repair cuts it there', async () => {
    const t = makeTempDir();
    try {
      const recs = await makeLog(t.dir, 200);
      // The checkpoint (written at close) covers everything: recovery alone trusts it.
      const r = recs[49]!;
      zero(t.dir, r.pos + 60, 1);
      const plain = await SegmentedLog.open({ dir: t.dir });
      expect(plain.lastIndex).toBe(200);
      await plain.close();
      // Issue 16: the damaged record's index slot still says what it held: repairable from peers.
      expect(await checkLogAtStartup(t.dir, false)).toEqual([{ fromIndex: 50, toIndex: 50 }]);
      const lines: string[] = [];
      await checkLogAtStartup(t.dir, true, (l) => lines.push(l));
      expect(lines.join('\n')).toContain('truncating the log from index 50');
      const log = await SegmentedLog.open({ dir: t.dir, readOnly: true });
      expect(log.lastIndex).toBe(49);
      await log.close();
      expect(await checkLogAtStartup(t.dir, false)).toBeUndefined();
    } finally {
      t.cleanup();
    }
  });

  it('damage before the checkpoint with no index slot to check a copy against is still refused', async () => {
    const t = makeTempDir();
    try {
      const recs = await makeLog(t.dir, 200);
      zero(t.dir, recs[49]!.pos + 60, 1);
      rmSync(join(t.dir, 'index'), { recursive: true }); // rebuilt from the data on open: it stops at the damage
      await expect(checkLogAtStartup(t.dir, false)).rejects.toMatchObject({ code: 'ERR_LOG_CORRUPT', message: expect.stringContaining('--repair') });
    } finally {
      t.cleanup();
    }
  });
});
