import { describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, truncateSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SegmentedLog, isRaftLedgerError, verifyLog } from '../../src/index.js';
import { flipBit, segmentPath } from '../support/log-files.js';
import { useTempDirs, payloadFor, prng, testSeed } from '../support/tmp.js';

const tempDir = useTempDirs();

const SEG = 64 * 1024;

/** A closed log of `count` entries in one segment; returns the dir and each entry's pos and size. */
async function makeLog(count: number, segmentSizeBytes = SEG): Promise<{ dir: string; pos: number[]; size: number[] }> {
  const dir = tempDir();
  const log = await SegmentedLog.open({ dir, segmentSizeBytes, indexSlotsPerFile: 1024 });
  const out = log.append(Array.from({ length: count }, (_, i) => payloadFor(i + 1)), 3);
  await log.close();
  return { dir, pos: out.map((r) => r.pos), size: out.map((r, i) => 48 + payloadFor(i + 1).byteLength) };
}

async function expectIntact(dir: string, upTo: number): Promise<void> {
  const log = await SegmentedLog.open({ dir });
  try {
    expect(log.lastIndex).toBe(upTo);
    for (let i = 1; i <= upTo; i++) expect(log.read(i).data.equals(payloadFor(i))).toBe(true);
    // The log keeps working after recovery.
    const [r] = log.append(payloadFor(upTo + 1), 3);
    expect(r!.index).toBe(upTo + 1);
    await log.flush();
  } finally {
    await log.close();
  }
}

describe('recovery', () => {
  it('a torn last entry is truncated at every cut offset, everything before intact', async () => {
    const { dir, pos, size } = await makeLog(20);
    const lastPos = pos[19]!;
    const lastSize = size[19]!;
    for (let cut = lastPos; cut < lastPos + lastSize; cut++) {
      const copy = tempDir();
      cpSync(dir, copy, { recursive: true });
      // A tear only ever hits bytes no checkpoint covers yet: the one close() wrote goes (a
      // file cut below a durable checkpoint is missing data, test/storage/missing-files.test.ts).
      rmSync(join(copy, 'checkpoint'));
      truncateSync(segmentPath(copy, 0), cut);
      await expectIntact(copy, 19);
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('a bit flip in the last entry (header or body) is a torn tail: truncated', async () => {
    const { dir, pos, size } = await makeLog(20);
    const lastPos = pos[19]!;
    for (const offset of [0, 5, 9, 17, 25, 33, 45, 48, size[19]! - 1]) {
      const copy = tempDir();
      cpSync(dir, copy, { recursive: true });
      flipBit(segmentPath(copy, 0), lastPos + offset, 3);
      const report = await verifyLog(copy);
      expect(report.damage.map((d) => d.offset), `flip at +${offset}`).toEqual([lastPos]);
      await expectIntact(copy, 19);
      expect((await verifyLog(copy)).clean).toBe(true);
    }
  });

  it('a bit flip in the middle of the scanned tail is listed as damaged, nothing is cut (issue 16); without index slots it fails open with ERR_LOG_CORRUPT naming file and offset', async () => {
    const seed = testSeed('middle-flip');
    const rand = prng(seed);
    const { dir, pos, size } = await makeLog(50);
    for (let round = 0; round < 12; round++) {
      const copy = tempDir();
      cpSync(dir, copy, { recursive: true });
      rmSync(join(copy, 'checkpoint')); // as after a crash before any checkpoint: the whole log is the tail
      const victim = 5 + Math.floor(rand() * 40);
      const offset = pos[victim]! + Math.floor(rand() * size[victim]!);
      flipBit(segmentPath(copy, 0), offset, Math.floor(rand() * 8));
      // The index slots chain past the damage to intact records: a damaged record, not a torn tail.
      const kept = await SegmentedLog.open({ dir: copy });
      try {
        expect(kept.lastIndex, `seed ${seed} round ${round}`).toBe(50);
        expect(kept.damaged.map((d) => [d.index, d.pos, d.path])).toEqual([[victim + 1, pos[victim], segmentPath(copy, 0)]]);
        expect(() => kept.read(victim + 1)).toThrow(expect.objectContaining({ code: 'ERR_LOG_DAMAGED' }));
        expect(kept.read(victim + 2).index).toBe(victim + 2);
      } finally {
        await kept.close();
      }
      // Without the index slots there is no expectation to repair against: refused as before.
      const bare = tempDir();
      cpSync(copy, bare, { recursive: true });
      rmSync(join(bare, 'checkpoint'), { force: true });
      rmSync(join(bare, 'index'), { recursive: true });
      mkdirSync(join(bare, 'index'));
      let error: unknown;
      try {
        await (await SegmentedLog.open({ dir: bare })).close();
      } catch (e) {
        error = e;
      }
      expect(isRaftLedgerError(error, 'ERR_LOG_CORRUPT'), `seed ${seed} round ${round}: ${String(error)}`).toBe(true);
      const e = error as { path?: string; offset?: number };
      expect(e.path).toBe(segmentPath(bare, 0));
      expect(e.offset).toBe(pos[victim]);
      // verify reports exactly that location
      const report = await verifyLog(copy);
      expect(report.damage.map((d) => d.offset)).toContain(pos[victim]);
      // explicit permission to truncate from the damage
      const log = await SegmentedLog.open({ dir: bare, truncateCorrupt: true });
      expect(log.lastIndex).toBe(victim);
      await log.close();
    }
  });

  it('damage before the checkpoint is caught on read and by verify', async () => {
    const { dir, pos } = await makeLog(50);
    flipBit(segmentPath(dir, 0), pos[10]! + 60, 0); // body of index 11
    const log = await SegmentedLog.open({ dir }); // the checkpoint covers it: open stays fast
    expect(log.recovery.usedCheckpoint).toBe(true);
    expect(() => log.read(11)).toThrow(/damaged/);
    expect(log.read(12).data.equals(payloadFor(12))).toBe(true);
    await log.close();
    const report = await verifyLog(dir);
    expect(report.damage).toEqual([expect.objectContaining({ kind: 'record', offset: pos[10] })]);
  });

  it('a damaged index is detected and rebuilt from the data', async () => {
    const { dir } = await makeLog(200);
    const indexFile = join(dir, 'index', '00000000000000000001');
    flipBit(indexFile, 24 * 99 + 2, 1); // pos of index 100
    flipBit(indexFile, 24 * 149 + 9, 0); // term of index 150
    const report = await verifyLog(dir);
    expect(report.damage.filter((d) => d.kind === 'index').map((d) => d.index)).toEqual([100, 150]);
    const log = await SegmentedLog.open({ dir });
    expect(log.read(100).data.equals(payloadFor(100))).toBe(true);
    expect(log.term(150)).toBe(3);
    expect(log.recovery.indexRebuilt).toBe(true);
    await log.close();
    expect((await verifyLog(dir)).clean).toBe(true);
  });

  it('verify finds every one of several flips across segments', async () => {
    const { dir, pos } = await makeLog(1500);
    const victims = [3, 400, 777, 1200];
    for (const v of victims) flipBit(segmentPath(dir, pos[v]! - (pos[v]! % SEG)), (pos[v]! % SEG) + 50, 2);
    const report = await verifyLog(dir);
    const found = report.damage.filter((d) => d.kind === 'record').map((d) => d.offset);
    expect(found).toEqual(victims.map((v) => pos[v]! % SEG));
    expect(report.clean).toBe(false);
  });

  it('open time does not scan what the checkpoint covers', async () => {
    const { dir } = await makeLog(1500);
    const log = await SegmentedLog.open({ dir });
    expect(log.recovery.usedCheckpoint).toBe(true);
    expect(log.recovery.scannedRecords).toBe(0);
    await log.close();
    rmSync(join(dir, 'checkpoint'));
    const full = await SegmentedLog.open({ dir });
    expect(full.recovery.usedCheckpoint).toBe(false);
    expect(full.recovery.scannedRecords).toBe(1500);
    await full.close();
  });

  it('a segment cut short in the middle of the log is corruption', async () => {
    const { dir } = await makeLog(1500);
    const first = segmentPath(dir, 0);
    truncateSync(first, statSync(first).size - 1000);
    await expect(SegmentedLog.open({ dir })).rejects.toMatchObject({ code: 'ERR_LOG_CORRUPT' });
  });
});
