import { describe, expect, it } from 'vitest';
import { cpSync } from 'node:fs';
import { SegmentedLog } from '../../src/index.js';
import { repairFromPeers, serveRepair } from '../../src/replica/repair.js';
import { DEFAULT_SCRUB_BYTES_PER_SEC, Scrubber } from '../../src/replica/scrub.js';
import { Ledger } from '../../src/replica/ledger.js';
import { flipBit, segmentPath } from '../support/log-files.js';
import { useTempDirs, payloadFor } from '../support/tmp.js';

const tempDir = useTempDirs();
const SEG = 64 * 1024;

async function pair(count: number): Promise<{ a: SegmentedLog; b: SegmentedLog; dirA: string; pos: number[] }> {
  const dirA = tempDir();
  const log = await SegmentedLog.open({ dir: dirA, segmentSizeBytes: SEG, indexSlotsPerFile: 1024 });
  const out = log.append(Array.from({ length: count }, (_, i) => payloadFor(i + 1)), 2);
  await log.close();
  const dirB = tempDir();
  cpSync(dirA, dirB, { recursive: true });
  return { a: await SegmentedLog.open({ dir: dirA }), b: await SegmentedLog.open({ dir: dirB }), dirA, pos: out.map((r) => r.pos) };
}

describe('scrubbing (issue 16)', () => {
  it('finds a bit flipped under a running log and repairs it from a peer, at the configured rate', async () => {
    const { a, b, dirA, pos } = await pair(600);
    try {
      // Damage while the log is open (the mapping sees the file's bytes).
      const p = pos[450]!;
      flipBit(segmentPath(dirA, p - (p % SEG)), (p % SEG) + 60, 1);
      const waits: number[] = [];
      const lines: string[] = [];
      const scrubber = new Scrubber(a, {
        bytesPerSec: 1024 * 1024,
        stepBytes: 32 * 1024,
        limitIndex: () => a.lastIndex,
        repair: async () => {
          await repairFromPeers(a, [{ id: 'b', fetch: async (r) => serveRepair(b, r) }]);
        },
        sleepMs: async (ms) => {
          waits.push(ms);
        },
        onLog: (l) => lines.push(l),
      });
      for (let i = 0; i < 1000 && (await scrubber.step()); i++);
      const status = scrubber.status();
      expect(status.findings).toEqual([expect.objectContaining({ index: 451, repaired: true })]);
      expect(status.passes).toBe(1);
      expect(a.damaged).toEqual([]);
      expect(a.read(451).data.equals(payloadFor(451))).toBe(true);
      expect(lines.some((l) => l.includes('index 451') && l.includes('damaged'))).toBe(true);
      expect(lines.some((l) => l.includes('index 451 repaired'))).toBe(true);
      // Rate bound: the waits asked for cover every byte verified at bytesPerSec.
      const waitedMs = waits.reduce((s, w) => s + w, 0);
      expect(waitedMs).toBeGreaterThanOrEqual((status.bytesVerified * 1000) / (1024 * 1024));
      expect(status.bytesVerified).toBeGreaterThan(600 * 48);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('an unrepairable finding stays listed and is reported, not dropped', async () => {
    const { a, b, dirA, pos } = await pair(100);
    try {
      const p = pos[20]!;
      flipBit(segmentPath(dirA, p - (p % SEG)), (p % SEG) + 60, 1);
      const scrubber = new Scrubber(a, {
        bytesPerSec: 8 * 1024 * 1024,
        limitIndex: () => a.lastIndex,
        repair: async () => {
          await repairFromPeers(a, []);
        },
        sleepMs: async () => {},
      });
      for (let i = 0; i < 100 && (await scrubber.step()); i++);
      const [finding] = scrubber.status().findings;
      expect(finding).toMatchObject({ index: 21, repaired: false });
      expect(finding!.error).toContain('index 21');
      expect(a.damaged.map((d) => d.index)).toEqual([21]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a record already listed as damaged is not found (or counted) again on the next pass, but its repair is retried', async () => {
    const { a, b, dirA, pos } = await pair(100);
    try {
      const p = pos[20]!;
      flipBit(segmentPath(dirA, p - (p % SEG)), (p % SEG) + 60, 1);
      const handed: number[][] = [];
      const scrubber = new Scrubber(a, {
        bytesPerSec: 8 * 1024 * 1024,
        limitIndex: () => a.lastIndex,
        repair: async (found) => {
          handed.push(found.map((d) => d.index));
          await repairFromPeers(a, []); // no peer: fails, the record stays listed
        },
        sleepMs: async () => {},
      });
      for (let pass = 0; pass < 2; pass++) for (let i = 0; i < 100 && (await scrubber.step()); i++);
      expect(scrubber.status().passes).toBe(2);
      expect(scrubber.status().findings.map((f) => f.index)).toEqual([21]);
      expect(handed).toEqual([[21], []]);
      expect(a.damaged.map((d) => d.index)).toEqual([21]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('bytesPerSec 0 disables it; a negative rate is a RangeError', async () => {
    const { a, b } = await pair(5);
    try {
      const scrubber = new Scrubber(a, { bytesPerSec: 0, limitIndex: () => a.lastIndex, repair: async () => {} });
      scrubber.start();
      expect(scrubber.status().running).toBe(false);
      await scrubber.stop();
      expect(() => new Scrubber(a, { bytesPerSec: -1, limitIndex: () => 0, repair: async () => {} })).toThrow(RangeError);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('the scrub default (issue 16)', () => {
  it('every step verifies at most 256 records and 64 KiB, then waits (it yields the event loop between steps)', async () => {
    const { a, b } = await pair(600);
    try {
      const waits: number[] = [];
      const scrubber = new Scrubber(a, {
        bytesPerSec: DEFAULT_SCRUB_BYTES_PER_SEC,
        limitIndex: () => a.lastIndex,
        repair: async () => {},
        sleepMs: async (ms) => {
          waits.push(ms);
        },
      });
      let steps = 0;
      let cursor = scrubber.status().cursorIndex;
      let bytes = 0;
      for (; steps < 100 && (await scrubber.step()); steps++) {
        const st = scrubber.status();
        expect(st.cursorIndex - cursor).toBeLessThanOrEqual(256);
        expect(st.bytesVerified - bytes).toBeLessThanOrEqual(64 * 1024 + 16 * 1024); // one record may cross the bound
        cursor = st.cursorIndex;
        bytes = st.bytesVerified;
      }
      expect(cursor).toBe(601);
      expect(steps).toBeGreaterThanOrEqual(3); // 600 records took several steps
      expect(waits.length).toBe(steps);
      expect(waits.every((w) => w >= 1)).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a Ledger scrubs by default at DEFAULT_SCRUB_BYTES_PER_SEC (a few MiB/s); scrubBytesPerSec 0 turns it off', async () => {
    expect(DEFAULT_SCRUB_BYTES_PER_SEC).toBeGreaterThan(0);
    expect(DEFAULT_SCRUB_BYTES_PER_SEC).toBeLessThanOrEqual(16 * 1024 * 1024);
    const base = { id: 'n0', members: ['n0'], link: { send: () => {} }, segmentSizeBytes: SEG, tickMs: 5, durability: 'memory' as const };
    const on = await Ledger.open({ dir: tempDir(), ...base });
    try {
      expect(on.status().repair?.scrub).toMatchObject({ running: true, bytesPerSec: DEFAULT_SCRUB_BYTES_PER_SEC });
    } finally {
      await on.close();
    }
    const off = await Ledger.open({ dir: tempDir(), ...base, scrubBytesPerSec: 0 });
    try {
      expect(off.status().repair?.scrub).toMatchObject({ running: false, bytesPerSec: 0 });
    } finally {
      await off.close();
    }
  });
});
