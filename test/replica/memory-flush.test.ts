/**
 * 'memory' mode's background flush (Ledger option memoryFlushIntervalMs, server key of the
 * same name / --memory-flush-ms): acknowledged entries reach the disk on the timer, and the
 * timer's period is the one configured. The flushes are counted by the fsync latency
 * histogram (one observation per flush).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/replica/ledger.js';
import { useTempDirs } from '../support/tmp.js';
import { pollUntil } from '../support/wait.js';

const tempDir = useTempDirs();
const open: Ledger[] = [];
afterEach(async () => {
  for (const l of open.splice(0)) await l.close();
});

async function soloMemoryLedger(memoryFlushIntervalMs?: number): Promise<Ledger> {
  const ledger = await Ledger.open({
    dir: tempDir(),
    id: 'n0',
    members: ['n0'],
    link: { send: () => {} },
    segmentSizeBytes: 1 << 20,
    tickMs: 5,
    durability: 'memory',
    ...(memoryFlushIntervalMs === undefined ? {} : { memoryFlushIntervalMs }),
  });
  open.push(ledger);
  await pollUntil(() => ledger.role === 'leader', 'the single replica to lead', { limitMs: 2000, stepMs: 5 });
  return ledger;
}

const flushes = (l: Ledger): number => l.status().stats.fsyncLatency.count;

describe("'memory' mode's background flush", () => {
  it('flushes acknowledged entries on the default timer', async () => {
    const ledger = await soloMemoryLedger();
    const before = flushes(ledger);
    await ledger.append(Buffer.from('x'));
    await pollUntil(() => flushes(ledger) > before, 'a background flush', { limitMs: 2000, stepMs: 5 });
  });

  it('with a long interval, an acknowledged entry is not flushed before the timer', async () => {
    const ledger = await soloMemoryLedger(60_000);
    const before = flushes(ledger);
    await ledger.append(Buffer.from('x'));
    await new Promise((r) => setTimeout(r, 200)); // 20 default intervals
    expect(flushes(ledger)).toBe(before);
  });

  it('refuses an interval that is not a positive integer', async () => {
    await expect(soloMemoryLedger(0)).rejects.toThrow(/memoryFlushIntervalMs/);
  });
});
