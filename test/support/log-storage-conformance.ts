/**
 * The LogStorage contract (src/raft/storage.ts) as one shared set of behavioural tests.
 * describeLogStorage(name, factory) runs them against any implementation; the factory
 * gives the read side the core sees (LogStorage) plus the write side a driver has.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ENTRY_OVERHEAD_BYTES, EntryType, type Entry, type HardState, type LogStorage } from '../../src/raft/index.js';

export interface NewEntry {
  term: number;
  type: EntryType;
  data: Uint8Array;
}

export interface LogStorageFixture {
  storage: LogStorage;
  /** Write `entries` at from, from + 1, ...; `from` <= lastIndex() + 1 (entries from `from` on are replaced). */
  write(from: number, entries: readonly NewEntry[]): Promise<void>;
  /**
   * Drop entries below `index` (at most: an implementation may keep more, e.g. whole
   * segments); entries below it are applied.
   */
  compact(index: number): Promise<void>;
  setHardState(hs: HardState): Promise<void>;
  close(): Promise<void>;
}

export type LogStorageFactory = () => Promise<LogStorageFixture>;

function entry(term: number, data: string, type: EntryType = EntryType.Normal): NewEntry {
  return { term, type, data: Buffer.from(data) };
}

function payloadOf(e: Entry): string {
  return Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString();
}

/** index -> [term, payload] of what the test wrote, for comparisons. */
type Model = Map<number, [number, string, EntryType]>;

async function writeModel(f: LogStorageFixture, model: Model, from: number, entries: readonly NewEntry[]): Promise<void> {
  await f.write(from, entries);
  for (const key of [...model.keys()]) if (key >= from) model.delete(key);
  entries.forEach((e, i) => model.set(from + i, [e.term, Buffer.from(e.data).toString(), e.type]));
}

export function describeLogStorage(name: string, factory: LogStorageFactory): void {
  describe(`LogStorage conformance: ${name}`, () => {
    let open: LogStorageFixture[] = [];
    const fixture = async (): Promise<LogStorageFixture> => {
      const f = await factory();
      open.push(f);
      return f;
    };
    afterEach(async () => {
      for (const f of open.splice(0)) await f.close();
      open = [];
    });

    it('a new storage is empty: hard state zero, firstIndex 1, lastIndex 0, term(0) = 0', async () => {
      const { storage } = await fixture();
      expect(storage.hardState()).toEqual({ term: 0, vote: '', commit: 0 });
      expect(storage.firstIndex()).toBe(1);
      expect(storage.lastIndex()).toBe(0);
      expect(storage.term(0)).toBe(0);
      expect(storage.term(1)).toBeUndefined();
    });

    it('answers term() inside [firstIndex - 1, lastIndex] and undefined outside', async () => {
      const f = await fixture();
      const model: Model = new Map();
      await writeModel(f, model, 1, [entry(1, 'a'), entry(1, 'b'), entry(2, 'c'), entry(5, 'd')]);
      const s = f.storage;
      expect(s.lastIndex()).toBe(4);
      expect([0, 1, 2, 3, 4].map((i) => s.term(i))).toEqual([0, 1, 1, 2, 5]);
      expect(s.term(5)).toBeUndefined();
      expect(s.term(100)).toBeUndefined();
    });

    it('returns entries [lo, hi) with their index, term, type and data', async () => {
      const f = await fixture();
      const model: Model = new Map();
      await writeModel(f, model, 1, [entry(1, 'one'), entry(1, '', EntryType.Noop), entry(2, 'config', EntryType.Config), entry(2, 'four')]);
      const got = f.storage.entries(1, 5, Number.POSITIVE_INFINITY);
      expect(got.map((e) => [e.index, e.term, payloadOf(e), e.type])).toEqual([...model.entries()].map(([i, [t, p, type]]) => [i, t, p, type]));
      expect(f.storage.entries(2, 4, Number.POSITIVE_INFINITY).map((e) => e.index)).toEqual([2, 3]);
      expect(f.storage.entries(4, 5, Number.POSITIVE_INFINITY).map((e) => e.index)).toEqual([4]);
    });

    it('stops before maxBytes (data + ENTRY_OVERHEAD_BYTES each) would be exceeded, but returns at least one entry', async () => {
      const f = await fixture();
      const model: Model = new Map();
      const sizes = [10, 0, 100, 7, 33, 64, 1, 200];
      await writeModel(f, model, 1, sizes.map((n, i) => entry(1, String.fromCharCode(97 + i).repeat(n))));
      const cost = (i: number): number => sizes[i - 1]! + ENTRY_OVERHEAD_BYTES;
      for (let lo = 1; lo <= sizes.length; lo++) {
        for (const maxBytes of [0, 1, 48, 58, 106, 200, 300, 500, 10_000]) {
          const got = f.storage.entries(lo, sizes.length + 1, maxBytes);
          expect(got.length, `lo ${lo} maxBytes ${maxBytes}`).toBeGreaterThanOrEqual(1);
          expect(got.map((e) => e.index)).toEqual(got.map((_, k) => lo + k));
          const total = got.reduce((sum, e) => sum + cost(e.index), 0);
          if (got.length > 1) expect(total, `lo ${lo} maxBytes ${maxBytes}`).toBeLessThanOrEqual(maxBytes);
          const next = lo + got.length;
          if (next <= sizes.length) expect(total + cost(next), `lo ${lo} maxBytes ${maxBytes}: the next entry fits`).toBeGreaterThan(maxBytes);
        }
      }
    });

    it('replacing a suffix: entries from the conflict on are the new ones', async () => {
      const f = await fixture();
      const model: Model = new Map();
      await writeModel(f, model, 1, [entry(1, 'a'), entry(1, 'b'), entry(1, 'c'), entry(1, 'd')]);
      await writeModel(f, model, 3, [entry(2, 'C')]);
      const s = f.storage;
      expect(s.lastIndex()).toBe(3);
      expect(s.term(3)).toBe(2);
      expect(s.term(4)).toBeUndefined();
      expect(s.entries(1, 4, Number.POSITIVE_INFINITY).map(payloadOf)).toEqual(['a', 'b', 'C']);
      await writeModel(f, model, 4, [entry(2, 'D'), entry(3, 'E')]);
      expect(s.lastIndex()).toBe(5);
      expect(s.entries(3, 6, Number.POSITIVE_INFINITY).map((e) => [e.term, payloadOf(e)])).toEqual([
        [2, 'C'],
        [2, 'D'],
        [3, 'E'],
      ]);
    });

    it('after compaction firstIndex moves up (never past the request), term(firstIndex - 1) is still answered', async () => {
      const f = await fixture();
      const model: Model = new Map();
      const many = Array.from({ length: 400 }, (_, i) => entry(1 + Math.floor(i / 100), `payload-${i + 1}-`.padEnd(300, 'x')));
      await writeModel(f, model, 1, many);
      await f.compact(350);
      const s = f.storage;
      const first = s.firstIndex();
      expect(first).toBeGreaterThanOrEqual(1);
      expect(first).toBeLessThanOrEqual(350);
      expect(s.lastIndex()).toBe(400);
      expect(s.term(first - 1)).toBe(first === 1 ? 0 : model.get(first - 1)![0]);
      if (first >= 2) expect(s.term(first - 2)).toBeUndefined();
      const got = s.entries(first, 401, Number.POSITIVE_INFINITY);
      expect(got[0]!.index).toBe(first);
      expect(got.map(payloadOf)).toEqual([...model.entries()].filter(([i]) => i >= first).map(([, [, p]]) => p));
    });

    it('returns the hard state that was saved', async () => {
      const f = await fixture();
      await writeModel(f, new Map(), 1, [entry(1, 'a'), entry(3, 'b')]);
      await f.setHardState({ term: 3, vote: 'n2', commit: 2 });
      expect(f.storage.hardState()).toEqual({ term: 3, vote: 'n2', commit: 2 });
      await f.setHardState({ term: 4, vote: '', commit: 2 });
      expect(f.storage.hardState()).toEqual({ term: 4, vote: '', commit: 2 });
    });
  });
}
