/**
 * Recovery tells a torn tail from damage (issue 16, docs/FORMAT.md "What recovery checks"):
 *  - zeros from the damage to the end of the written log, after the durable checkpoint and
 *    past the durable commit index, are a torn tail: cut;
 *  - damage (zeros or a flip) followed by intact records is damage: listed, kept, repairable;
 *  - zeros to the end of the log that reach back to records at or below the durable commit
 *    index are damage for those records (they were durable) and a torn tail after it.
 */
import { describe, expect, it } from 'vitest';
import { closeSync, cpSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SegmentedLog, isRaftLedgerError, verifyLog } from '../../src/index.js';
import { encodeCheckpoint } from '../../src/storage/meta-store.js';
import { checkLogAtStartup } from '../../src/storage/startup-check.js';
import { flipBit, segmentPath } from '../support/log-files.js';
import { useTempDirs, payloadFor } from '../support/tmp.js';

const tempDir = useTempDirs();
const SEG = 64 * 1024;
const N = 50;
const TERM = 3;

interface Made {
  dir: string;
  pos: number[];
  size: number[];
}

/**
 * A closed log of N entries in one segment whose durable checkpoint is at index 10 (as if
 * the process died before a later one) and whose durable commit index is `commitIndex`.
 */
async function makeLog(commitIndex: number): Promise<Made> {
  const dir = tempDir();
  const log = await SegmentedLog.open({ dir, segmentSizeBytes: SEG, indexSlotsPerFile: 1024 });
  const out = log.append(Array.from({ length: N }, (_, i) => payloadFor(i + 1)), TERM);
  await log.flush();
  await log.meta.save({ commitIndex });
  await log.close();
  const pos = out.map((r) => r.pos);
  const size = out.map((_, i) => 48 + payloadFor(i + 1).byteLength);
  writeFileSync(join(dir, 'checkpoint'), encodeCheckpoint({ index: 10, pos: pos[10]!, term: TERM }));
  return { dir, pos, size };
}

function copyOf(made: Made): string {
  const copy = tempDir();
  cpSync(made.dir, copy, { recursive: true });
  return copy;
}

/** Zero bytes [from, to) of the first segment. */
function zero(dir: string, from: number, to: number): void {
  const fd = openSync(segmentPath(dir, 0), 'r+');
  writeSync(fd, Buffer.alloc(to - from), 0, to - from, from);
  closeSync(fd);
}

/** The original bytes of index `index` (1-based), from the undamaged log. */
function recordBytes(made: Made, index: number): Buffer {
  const p = made.pos[index - 1]!;
  return readFileSync(segmentPath(made.dir, 0)).subarray(p, p + made.size[index - 1]!);
}

async function expectRefused(dir: string): Promise<void> {
  let error: unknown;
  try {
    await (await SegmentedLog.open({ dir })).close();
  } catch (e) {
    error = e;
  }
  expect(isRaftLedgerError(error, 'ERR_LOG_CORRUPT'), String(error)).toBe(true);
}

describe('recovery: zeros past the commit point are a torn tail, damage before intact records is repaired', () => {
  it('zeros from inside (or at the start of) a record to the end of the written log, past the commit index: cut as a torn tail', async () => {
    const made = await makeLog(10);
    const end = made.pos[N - 1]! + made.size[N - 1]!;
    for (const [victim, into] of [[20, 0], [20, 7], [35, 60], [N, 1], [12, 0]] as const) {
      const copy = copyOf(made);
      zero(copy, made.pos[victim - 1]! + into, end);
      const log = await SegmentedLog.open({ dir: copy });
      try {
        expect(log.lastIndex, `zeros from index ${victim} +${into}`).toBe(victim - 1);
        expect(log.damaged).toEqual([]);
        for (let i = 1; i < victim; i++) expect(log.read(i).data.equals(payloadFor(i))).toBe(true);
        // The log keeps working where the tear was cut.
        const [r] = log.append(payloadFor(victim), TERM);
        expect(r).toMatchObject({ index: victim, pos: made.pos[victim - 1] });
        await log.flush();
      } finally {
        await log.close();
      }
      expect((await verifyLog(copy)).clean).toBe(true);
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('zeros in the middle followed by intact records are damage: listed, nothing cut, repaired in place', async () => {
    const made = await makeLog(10);
    // Whole records 21..25 zeroed, and separately part of one record's body.
    for (const [from, to] of [
      [made.pos[20]!, made.pos[25]!],
      [made.pos[30]! + 50, made.pos[30]! + 70],
    ] as const) {
      const copy = copyOf(made);
      zero(copy, from, to);
      const log = await SegmentedLog.open({ dir: copy });
      try {
        expect(log.lastIndex).toBe(N);
        const damaged = log.damaged.map((d) => d.index);
        expect(damaged.length).toBeGreaterThan(0);
        for (const i of damaged) expect(() => log.read(i)).toThrow(expect.objectContaining({ code: 'ERR_LOG_DAMAGED' }));
        expect(log.read(damaged[damaged.length - 1]! + 1).data.equals(payloadFor(damaged[damaged.length - 1]! + 1))).toBe(true);
        for (const i of damaged) await log.writeBackRecord(i, recordBytes(made, i));
        expect(log.damaged).toEqual([]);
        for (let i = 1; i <= N; i++) expect(log.read(i).data.equals(payloadFor(i))).toBe(true);
      } finally {
        await log.close();
      }
      expect((await verifyLog(copy)).clean).toBe(true);
    }
  });

  it('a flipped bit after the checkpoint followed by intact records is damage: kept and repaired, not cut', async () => {
    const made = await makeLog(10);
    const copy = copyOf(made);
    flipBit(segmentPath(copy, 0), made.pos[39]! + 55, 4); // body of index 40
    const log = await SegmentedLog.open({ dir: copy });
    try {
      expect(log.lastIndex).toBe(N);
      expect(log.damaged.map((d) => d.index)).toEqual([40]);
      await log.writeBackRecord(40, recordBytes(made, 40));
      expect(log.damaged).toEqual([]);
      expect(log.read(40).data.equals(payloadFor(40))).toBe(true);
    } finally {
      await log.close();
    }
    expect((await verifyLog(copy)).clean).toBe(true);
  });

  it('zeros to the end of the log that cover records at or below the durable commit index: those are damage (kept, repaired), only what follows the commit index is cut', async () => {
    const made = await makeLog(40);
    const end = made.pos[N - 1]! + made.size[N - 1]!;
    for (const [victim, into] of [[31, 0], [31, 9], [40, 3]] as const) {
      const copy = copyOf(made);
      zero(copy, made.pos[victim - 1]! + into, end);
      for (let reopen = 0; reopen < 2; reopen++) {
        // Twice: the first open's cut and checkpoint leave the damage for the next open to find again.
        const log = await SegmentedLog.open({ dir: copy });
        try {
          expect(log.lastIndex, `zeros from ${victim} +${into}, open ${reopen}`).toBe(40);
          expect(log.damaged.map((d) => d.index)).toEqual(Array.from({ length: 41 - victim }, (_, i) => victim + i));
          expect(log.recovery.truncatedAtPos).toBe(made.pos[40]);
        } finally {
          await log.close();
        }
        // The server's startup check hands exactly these to the start-up repair from peers.
        expect(await checkLogAtStartup(copy, false)).toEqual([{ fromIndex: victim, toIndex: 40 }]);
      }
      const log = await SegmentedLog.open({ dir: copy });
      try {
        for (let i = victim; i <= 40; i++) await log.writeBackRecord(i, recordBytes(made, i));
        expect(log.damaged).toEqual([]);
        for (let i = 1; i <= 40; i++) expect(log.read(i).data.equals(payloadFor(i))).toBe(true);
        // The leader re-sends what followed the commit index: appends land where it was cut.
        const [r] = log.append(payloadFor(41), TERM);
        expect(r).toMatchObject({ index: 41, pos: made.pos[40] });
        await log.flush();
      } finally {
        await log.close();
      }
      expect((await verifyLog(copy)).clean).toBe(true);
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('zeros to the end below the commit index without index slots (no expectation to repair against): refused, nothing cut', async () => {
    const made = await makeLog(40);
    const copy = copyOf(made);
    zero(copy, made.pos[30]!, made.pos[N - 1]! + made.size[N - 1]!);
    rmSync(join(copy, 'index'), { recursive: true });
    mkdirSync(join(copy, 'index'));
    rmSync(join(copy, 'checkpoint'));
    await expectRefused(copy);
  });
});
