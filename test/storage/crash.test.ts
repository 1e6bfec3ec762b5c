import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { SegmentedLog } from '../../src/index.js';
// The child process and this test share one payload generator (test/fixtures/payload.mjs).
import { payloadFor as payloadForTs, makeTempDir, prng, testSeed } from '../support/tmp.js';
import { runAndKillWriter } from '../support/kill-writer.js';

const writer = fileURLToPath(new URL('../fixtures/crash-writer.mjs', import.meta.url));
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Runs the writer, SIGKILLs it waitMs after it opened its log; the highest index it reported durable, and the last index it opened with. */
async function runAndKill(dir: string, salt: number, waitMs: number): Promise<{ maxDurable: number; opened: number }> {
  let maxDurable = 0;
  let opened = -1;
  await runAndKillWriter('writer', writer, [dir, String(salt), String(64 * 1024)], waitMs, (word, value) => {
    if (word === 'durable') maxDurable = Math.max(maxDurable, Number(value));
    if (word === 'opened') opened = Number(value);
  });
  return { maxDurable, opened };
}

describe('crash safety', () => {
  it('every entry reported durable survives kill -9 at random moments', async () => {
    const seed = testSeed('crash');
    const rand = prng(seed);
    const t = makeTempDir();
    cleanups.push(t.cleanup);
    const salt = seed % 1000;
    let durableSoFar = 0;
    for (let round = 0; round < 6; round++) {
      const { maxDurable, opened } = await runAndKill(t.dir, salt, 20 + Math.floor(rand() * 300));
      expect(opened, `seed ${seed} round ${round}`).toBeGreaterThanOrEqual(durableSoFar);
      durableSoFar = Math.max(durableSoFar, maxDurable);
      const log = await SegmentedLog.open({ dir: t.dir });
      try {
        expect(log.lastIndex, `seed ${seed} round ${round}`).toBeGreaterThanOrEqual(durableSoFar);
        for (const entry of log.entries(1)) {
          expect(entry.data.equals(payloadForTs(entry.index, salt)), `seed ${seed} index ${entry.index}`).toBe(true);
        }
      } finally {
        await log.close();
      }
    }
    expect(durableSoFar).toBeGreaterThan(0);
  });
});
