import { describe, expect, it } from 'vitest';
import { cpSync } from 'node:fs';
import { SegmentedLog, verifyLog } from '../../src/index.js';
import { repairFromPeers, serveRepair, type RepairSource } from '../../src/replica/repair.js';
import { flipBit, segmentPath } from '../support/log-files.js';
import { useTempDirs, payloadFor } from '../support/tmp.js';

const tempDir = useTempDirs();
const SEG = 64 * 1024;

/** Three byte-identical closed replicas of `count` entries spanning several segments; returns dirs and every record's pos. */
async function makeReplicas(count: number): Promise<{ dirs: string[]; pos: number[] }> {
  const a = tempDir();
  const log = await SegmentedLog.open({ dir: a, segmentSizeBytes: SEG, indexSlotsPerFile: 1024 });
  const out = log.append(Array.from({ length: count }, (_, i) => payloadFor(i + 1)), 2);
  await log.close();
  const dirs = [a, tempDir(), tempDir()];
  for (const d of dirs.slice(1)) cpSync(a, d, { recursive: true });
  return { dirs, pos: out.map((r) => r.pos) };
}

function damage(dir: string, pos: number, bit = 3): void {
  flipBit(segmentPath(dir, pos - (pos % SEG)), (pos % SEG) + 48 + 5, bit);
}

function source(id: string, log: SegmentedLog): RepairSource {
  return { id, fetch: async (request) => serveRepair(log, request) };
}

async function openAll(dirs: string[]): Promise<SegmentedLog[]> {
  const logs = await Promise.all(dirs.map((dir) => SegmentedLog.open({ dir })));
  for (const log of logs) log.findDamage();
  return logs;
}

async function expectIdentical(logs: SegmentedLog[], count: number): Promise<void> {
  for (const log of logs) {
    expect(log.lastIndex).toBe(count);
    expect(log.findDamage()).toEqual([]);
    for (let i = 1; i <= count; i++) expect(Buffer.from(log.read(i).record).equals(Buffer.from(logs[0]!.read(i).record))).toBe(true);
  }
}

describe('repair from peers (issue 16)', () => {
  const COUNT = 800; // several 64 KiB segments

  it('one damaged record on one replica is fetched from a peer and written back; nothing after it is cut', async () => {
    const { dirs, pos } = await makeReplicas(COUNT);
    damage(dirs[0]!, pos[99]!);
    const logs = await openAll(dirs);
    try {
      expect(logs[0]!.damaged.map((d) => d.index)).toEqual([100]);
      const lines: string[] = [];
      const outcome = await repairFromPeers(logs[0]!, [source('b', logs[1]!), source('c', logs[2]!)], (l) => lines.push(l));
      expect(outcome.repaired).toBe(1);
      expect(outcome.from.get(100)).toBe('b');
      expect(lines.some((l) => l.includes('index 100') && l.includes('from b'))).toBe(true);
      await expectIdentical(logs, COUNT);
    } finally {
      await Promise.all(logs.map((l) => l.close()));
    }
    for (const d of dirs) expect((await verifyLog(d)).damage).toEqual([]);
  });

  it('damage on two replicas at different indexes: each repairs from the others', async () => {
    const { dirs, pos } = await makeReplicas(COUNT);
    damage(dirs[0]!, pos[9]!);
    damage(dirs[0]!, pos[600]!);
    damage(dirs[1]!, pos[300]!);
    const logs = await openAll(dirs);
    try {
      await repairFromPeers(logs[0]!, [source('b', logs[1]!), source('c', logs[2]!)]);
      await repairFromPeers(logs[1]!, [source('a', logs[0]!), source('c', logs[2]!)]);
      await expectIdentical(logs, COUNT);
    } finally {
      await Promise.all(logs.map((l) => l.close()));
    }
  });

  it('the same record damaged on two of three: both repair from the third, nothing lost', async () => {
    const { dirs, pos } = await makeReplicas(COUNT);
    damage(dirs[0]!, pos[399]!);
    damage(dirs[1]!, pos[399]!, 6);
    const logs = await openAll(dirs);
    try {
      const first = await repairFromPeers(logs[0]!, [source('b', logs[1]!), source('c', logs[2]!)]);
      expect(first.from.get(400)).toBe('c'); // b's copy is damaged too and is not served
      await repairFromPeers(logs[1]!, [source('a', logs[0]!)]);
      await expectIdentical(logs, COUNT);
    } finally {
      await Promise.all(logs.map((l) => l.close()));
    }
  });

  it('when no peer can supply it: a clear error naming the index and the replicas asked, nothing dropped', async () => {
    const { dirs, pos } = await makeReplicas(COUNT);
    damage(dirs[0]!, pos[399]!);
    damage(dirs[1]!, pos[399]!, 6);
    const logs = await openAll(dirs.slice(0, 2)); // the third is unreachable
    try {
      const lying: RepairSource = {
        id: 'liar',
        fetch: async (request) =>
          serveRepair(logs[1]!, { ...request, want: [] }).concat(
            request.want.map((w) => ({ ...w, record: Buffer.from(logs[1]!.read(w.index + 1).record) })),
          ),
      };
      const error = await repairFromPeers(logs[0]!, [source('b', logs[1]!), lying]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_LOG_CORRUPT' });
      const message = (error as Error).message;
      expect(message).toContain('index 400');
      expect(message).toContain('b (supplied 0)');
      expect(message).toContain('liar (supplied 0, 1 refused');
      expect(logs[0]!.damaged.map((d) => d.index)).toEqual([400]);
      expect(logs[0]!.lastIndex).toBe(COUNT);
      expect(logs[0]!.read(401).data.equals(payloadFor(401))).toBe(true);
    } finally {
      await Promise.all(logs.map((l) => l.close()));
    }
  });

  it('serveRepair refuses malformed requests with RangeError', async () => {
    const { dirs } = await makeReplicas(10);
    const log = await SegmentedLog.open({ dir: dirs[0]! });
    try {
      expect(() => serveRepair(log, { fromIndex: 5, toIndex: 4, want: [] })).toThrow(RangeError);
      expect(() => serveRepair(log, { fromIndex: 1, toIndex: 5000, want: [] })).toThrow(RangeError);
      expect(() => serveRepair(log, { fromIndex: 1, toIndex: 2, want: [{ index: 3, term: 2, pos: 0 }] })).toThrow(RangeError);
      expect(serveRepair(log, { fromIndex: 1, toIndex: 2, want: [{ index: 2, term: 9, pos: 0 }] })).toEqual([]); // term mismatch
    } finally {
      await log.close();
    }
  });
});
