/**
 * SegmentedLog.resetTo (docs/FORMAT.md, "Log reset"): a log restarts empty at any
 * (index, term, pos), survives reopening, and a kill -9 at any moment of a reset
 * leaves the old log or the new start, never a mix.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SegmentedLog } from '../../src/index.js';
import { segmentFileName } from '../../src/storage/format.js';
import { MetaStore } from '../../src/storage/meta-store.js';
// @ts-expect-error plain .mjs fixture shared with the child process
import { resetPayload, resetPoint } from '../fixtures/reset-points.mjs';
import { makeTempDir, prng, testSeed } from '../support/tmp.js';
import { runAndKillWriter } from '../support/kill-writer.js';

const S = 64 * 1024;
const writer = fileURLToPath(new URL('../fixtures/reset-writer.mjs', import.meta.url));
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});
function tmp(): string {
  const t = makeTempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

describe('SegmentedLog.resetTo', () => {
  it('restarts a log with entries empty after (index, term), its next record at pos, and survives reopening', async () => {
    const dir = tmp();
    let log = await SegmentedLog.open({ dir, segmentSizeBytes: S });
    log.append([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')], 1);
    await log.flush();
    const pos = 5 * S + 1000;
    await log.resetTo({ index: 500, term: 3, pos });
    expect([log.firstIndex, log.lastIndex, log.term(500), log.writePos]).toEqual([501, 500, 3, pos]);
    expect(readdirSync(join(dir, 'log'))).toEqual([segmentFileName(5 * S)]);
    const placed = log.append([Buffer.from('x'), Buffer.from('y')], 4);
    expect(placed.map((p) => p.pos)[0]).toBe(pos);
    await log.close();
    log = await SegmentedLog.open({ dir, segmentSizeBytes: S });
    expect([log.firstIndex, log.lastIndex, log.term(500), log.posOf(501)]).toEqual([501, 502, 3, pos]);
    expect(log.readRange(501, 503).map((e) => Buffer.from(e.data).toString())).toEqual(['x', 'y']);
    expect(log.hardState.commitIndex).toBeGreaterThanOrEqual(500);
    expect(log.hardState.resetPending).toBeFalsy();
    await log.close();
  });

  it('a reset log with nothing appended reopens at the same start', async () => {
    const dir = tmp();
    let log = await SegmentedLog.open({ dir, segmentSizeBytes: S });
    await log.resetTo({ index: 41, term: 2, pos: 3 * S });
    await log.close();
    log = await SegmentedLog.open({ dir, segmentSizeBytes: S });
    expect([log.firstIndex, log.lastIndex, log.lastTerm, log.writePos, log.term(41)]).toEqual([42, 41, 2, 3 * S, 2]);
    log.append([Buffer.from('z')], 2);
    await log.close();
    log = await SegmentedLog.open({ dir, segmentSizeBytes: S });
    expect([log.firstIndex, log.lastIndex, log.posOf(42)]).toEqual([42, 42, 3 * S]);
    await log.close();
  });

  it('an interrupted reset (commit point durable, cleanup not done) is finished at open', async () => {
    const dir = tmp();
    let log = await SegmentedLog.open({ dir, segmentSizeBytes: S });
    log.append([Buffer.from('old1'), Buffer.from('old2')], 1);
    await log.close();
    // The state right after the commit point: the new start saved with resetPending, old segments still there.
    const meta = MetaStore.open(dir);
    await meta.save({ firstIndex: 10, prevTerm: 2, firstPos: 2 * S + 64, commitIndex: 9, resetPending: true });
    await meta.close();
    expect(existsSync(join(dir, 'log', segmentFileName(0)))).toBe(true);
    log = await SegmentedLog.open({ dir, segmentSizeBytes: S });
    expect([log.firstIndex, log.lastIndex, log.writePos, log.term(9)]).toEqual([10, 9, 2 * S + 64, 2]);
    expect(existsSync(join(dir, 'log', segmentFileName(0)))).toBe(false);
    expect(log.hardState.resetPending).toBeFalsy();
    await log.close();
  });

  it('refuses bad reset points with RangeError', async () => {
    const dir = tmp();
    const log = await SegmentedLog.open({ dir, segmentSizeBytes: S });
    await expect(log.resetTo({ index: -1, term: 0, pos: 0 })).rejects.toThrow(RangeError);
    await expect(log.resetTo({ index: 3, term: 1, pos: 1.5 })).rejects.toThrow(RangeError);
    await expect(log.resetTo({ index: 0, term: 2, pos: 0 })).rejects.toThrow(RangeError);
    await log.close();
  });
});

/** Runs the reset writer, SIGKILLs it after waitMs; returns the last round begun and the last done. */
async function runAndKill(dir: string, seed: number, start: number, waitMs: number): Promise<{ begun: number; done: number }> {
  let begun = -1;
  let done = -1;
  await runAndKillWriter('reset writer', writer, [dir, String(seed), String(S), String(start)], waitMs, (word, value) => {
    if (word === 'begin') begun = Number(value);
    if (word === 'done') done = Number(value);
  });
  return { begun, done };
}

describe('log reset crash atomicity', () => {
  it('kill -9 at random moments of resets leaves the old log or the new start, never a mix', async () => {
    const seed = testSeed('reset-crash');
    const rand = prng(seed);
    const dir = tmp();
    let start = 0;
    let checkedMidReset = 0;
    /** The reset the previous round found on disk (undefined before any was found). */
    let onDisk: number | undefined;
    for (let round = 0; round < 8; round++) {
      const { begun, done } = await runAndKill(dir, seed, start, 30 + Math.floor(rand() * 250));
      const why = `seed ${seed} round ${round} (begun ${begun}, done ${done})`;
      const log = await SegmentedLog.open({ dir, segmentSizeBytes: S });
      try {
        // Which start is on disk: the reset begun last (new), the one before it, or (killed
        // before this round's first commit point) the start the previous round left.
        const candidates = [begun, begun - 1].filter((k) => k >= start);
        if (onDisk !== undefined) candidates.push(onDisk);
        const k = candidates.find((c) => resetPoint(seed, c, S).index + 1 === log.firstIndex);
        if (begun >= start || onDisk !== undefined) {
          expect(k, `${why}: first index ${log.firstIndex} is neither the old nor the new start`).toBeDefined();
        }
        if (k !== undefined) onDisk = k;
        if (k !== undefined) {
          if (k === begun && begun > done) checkedMidReset++;
          const at = resetPoint(seed, k, S);
          expect(log.term(at.index), why).toBe(at.term);
          // Every record is the round's own (no byte of the old log), from pos on.
          const ents = log.lastIndex >= log.firstIndex ? log.readRange(log.firstIndex, log.lastIndex + 1) : [];
          if (ents.length > 0) expect(log.posOf(at.index + 1), why).toBe(at.pos);
          else expect(log.writePos, why).toBe(at.pos);
          for (const e of ents) {
            expect(Buffer.from(e.data).equals(resetPayload(k, e.index)), `${why}: entry ${e.index}`).toBe(true);
            expect(e.term, why).toBe(at.term + 1);
          }
          if (done >= k) expect(ents.length, `${why}: round ${k} was flushed`).toBe(1 + (k % 5));
        }
        expect(log.hardState.resetPending, why).toBeFalsy();
      } finally {
        await log.close();
      }
      start = Math.max(begun, start) + 1;
    }
    console.log(`reset crash test seed ${seed}: ${checkedMidReset} kills landed inside a reset or before its round was flushed`);
  }, 120_000);
});
