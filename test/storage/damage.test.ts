import { describe, expect, it } from 'vitest';
import { SegmentedLog, isRaftLedgerError, verifyLog } from '../../src/index.js';
import { flipBit, segmentPath } from '../support/log-files.js';
import { useTempDirs, payloadFor } from '../support/tmp.js';
import { join } from 'node:path';
import { mulberry32 } from '../../src/raft/prng.js';

const tempDir = useTempDirs();
const SEG = 64 * 1024;

/** A closed log of `count` entries; returns its dir and a verbatim copy of every record (what a peer would send). */
async function makeLog(count: number): Promise<{ dir: string; records: Buffer[]; pos: number[] }> {
  const dir = tempDir();
  const log = await SegmentedLog.open({ dir, segmentSizeBytes: SEG, indexSlotsPerFile: 1024 });
  const out = log.append(Array.from({ length: count }, (_, i) => payloadFor(i + 1)), 3);
  await log.flush();
  const records = log.readRange(1, count + 1).map((e) => Buffer.from(e.record));
  await log.close();
  return { dir, records, pos: out.map((r) => r.pos) };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isRaftLedgerError(error) ? error.code : `not a RaftLedgerError: ${String(error)}`;
  }
  return undefined;
}

describe('damaged records in the middle of the log (issue 16)', () => {
  it('finds a bit flipped in a middle record, keeps it out of reads, and takes back a verified copy in place', async () => {
    const { dir, records, pos } = await makeLog(200);
    // Damage the payload of index 50 (before the checkpoint written at close).
    flipBit(segmentPath(dir, 0), pos[49]! + 48 + 3, 2);
    const log = await SegmentedLog.open({ dir });
    try {
      expect(log.lastIndex).toBe(200); // nothing after the damage is cut
      const found = log.findDamage();
      expect(found.map((d) => d.index)).toEqual([50]);
      expect(log.damagedRanges()).toEqual([{ fromIndex: 50, toIndex: 50 }]);
      expect(found[0]!).toMatchObject({ term: 3, pos: pos[49], sizeBytes: records[49]!.byteLength });
      expect(codeOf(() => log.read(50))).toBe('ERR_LOG_DAMAGED');
      expect(log.term(50)).toBe(3);
      // A range read stops before the damage; the good entries after it read fine.
      expect(log.readRange(40, 60).map((e) => e.index)).toEqual([40, 41, 42, 43, 44, 45, 46, 47, 48, 49]);
      expect(log.read(51).data.equals(payloadFor(51))).toBe(true);

      // Copies that are not exactly the expected record are refused, and nothing is written.
      const flipped = Buffer.from(records[49]!);
      flipped[60]! ^= 1;
      await expect(log.writeBackRecord(50, flipped)).rejects.toMatchObject({ code: 'ERR_LOG_CORRUPT' });
      await expect(log.writeBackRecord(50, records[50]!)).rejects.toMatchObject({ code: 'ERR_LOG_CORRUPT' }); // index 51's record
      await expect(log.writeBackRecord(51, records[50]!)).rejects.toThrow(RangeError); // not damaged
      expect(log.damaged.map((d) => d.index)).toEqual([50]);

      await log.writeBackRecord(50, records[49]!);
      expect(log.damaged).toEqual([]);
      expect(log.read(50).data.equals(payloadFor(50))).toBe(true);
      expect(log.findDamage()).toEqual([]);
    } finally {
      await log.close();
    }
    const report = await verifyLog(dir);
    expect(report.damage).toEqual([]);
  });

  it('a damaged header is found from the index slot and repaired', async () => {
    const { dir, records, pos } = await makeLog(120);
    flipBit(segmentPath(dir, 0), pos[9]! + 1, 0);
    flipBit(segmentPath(dir, 0), pos[10]! + 48, 7);
    const log = await SegmentedLog.open({ dir });
    try {
      expect(log.findDamage().map((d) => d.index)).toEqual([10, 11]);
      expect(log.damagedRanges()).toEqual([{ fromIndex: 10, toIndex: 11 }]);
      await log.writeBackRecord(11, records[10]!);
      await log.writeBackRecord(10, records[9]!);
      for (let i = 1; i <= 120; i++) expect(log.read(i).data.equals(payloadFor(i))).toBe(true);
    } finally {
      await log.close();
    }
    expect((await verifyLog(dir)).damage).toEqual([]);
  });

  it('the repaired bytes survive a reopen and the log keeps appending', async () => {
    const { dir, records, pos } = await makeLog(80);
    flipBit(segmentPath(dir, 0), pos[30]! + 50, 4);
    let log = await SegmentedLog.open({ dir });
    log.findDamage();
    await log.writeBackRecord(31, records[30]!);
    await log.close();
    log = await SegmentedLog.open({ dir });
    try {
      expect(log.findDamage()).toEqual([]);
      log.append(payloadFor(81), 3);
      await log.flush();
      expect(log.read(81).data.equals(payloadFor(81))).toBe(true);
    } finally {
      await log.close();
    }
  });

  it('finds exactly the damaged records of a long range, wherever they lie (checked in bulk, reported one by one)', async () => {
    const seed = process.env.RAFTLEDGER_SEED !== undefined ? Number(process.env.RAFTLEDGER_SEED) : 20261202;
    const rand = mulberry32(seed);
    const count = 3000; // about 10 data segments and 3 index files
    const { dir, records, pos } = await makeLog(count);
    const damaged = new Set<number>();
    while (damaged.size < 8) damaged.add(1 + Math.floor(rand() * (count - 10)));
    for (const i of damaged) {
      const p = pos[i - 1]!;
      flipBit(segmentPath(dir, p - (p % SEG)), (p % SEG) + Math.floor(rand() * records[i - 1]!.byteLength), Math.floor(rand() * 8));
    }
    // An index slot that no longer matches its (intact) record: its CRC field.
    let slotOnly = 1 + Math.floor(rand() * (count - 10));
    while (damaged.has(slotOnly)) slotOnly++;
    flipBit(join(dir, 'index', String(1 + Math.floor((slotOnly - 1) / 1024) * 1024).padStart(20, '0')), ((slotOnly - 1) % 1024) * 24 + 20, 0);
    const expected = [...damaged, slotOnly].sort((a, b) => a - b);
    const log = await SegmentedLog.open({ dir });
    try {
      const why = `seed ${seed} (replay with RAFTLEDGER_SEED=${seed})`;
      expect(log.findDamage().map((d) => d.index), why).toEqual(expected);
      expect(log.damaged.map((d) => d.index), why).toEqual(expected);
      const slotFinding = log.damaged.find((d) => d.index === slotOnly)!;
      expect(slotFinding.reason, why).toMatch(/CRC .* differs from the index slot/);
      // Record by record, and in ranges that start and end inside damage, the same findings.
      const one: number[] = [];
      for (let i = 1; i <= count; i++) one.push(...log.findDamage(i, i).map((d) => d.index));
      expect(one, why).toEqual(expected);
      const [a, b] = [expected[1]!, expected[5]!];
      expect(log.findDamage(a, b).map((d) => d.index), why).toEqual(expected.filter((i) => i >= a && i <= b));
      expect(log.damaged.map((d) => d.index), why).toEqual(expected);
      let verified = 0;
      log.findDamage(1, count, (n) => (verified += n));
      expect(verified, why).toBe(records.reduce((sum, r) => sum + r.byteLength, 0));
    } finally {
      await log.close();
    }
  });
});
