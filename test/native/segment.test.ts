import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync, ftruncateSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native, type NativeSegment } from '../../src/storage/native.js';
import { codeOf, randomBytes, rejection, rng, segName, tempDir } from './helpers.js';

const SIZE = 1 << 20;
let tmp: { dir: string; cleanup: () => void };
let n = 0;
const fresh = () => join(tmp.dir, segName(SIZE * n++));

beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

function expectCode(fn: () => unknown, cls: string, code: string) {
  const r = codeOf(fn);
  expect(r.name, `error class (got ${String(r.error)})`).toBe(cls);
  expect(r.code).toBe(code);
}

describe('createSegment / openSegment', () => {
  it('creates a zero-filled, preallocated segment', async () => {
    const path = fresh();
    const seg = native.createSegment(path, SIZE);
    expect(seg.path).toBe(path);
    expect(seg.sizeBytes).toBe(SIZE);
    expect(seg.originalSizeBytes).toBe(SIZE);
    expect(seg.closed).toBe(false);
    expect(statSync(path).size).toBe(SIZE);
    expect(statSync(path).blocks * 512).toBeGreaterThanOrEqual(SIZE); // fallocated, not sparse
    expect(seg.read(0, SIZE).every((b) => b === 0)).toBe(true);
    await seg.close();
  });

  it('refuses to create an existing file: ERR_EXISTS with errno/syscall/path', async () => {
    const path = fresh();
    const seg = native.createSegment(path, SIZE);
    const r = codeOf(() => native.createSegment(path, SIZE));
    const err = r.error as Error & { code: string; errno: number; syscall: string; path: string };
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('ERR_EXISTS');
    expect(err.errno).toBe(17);
    expect(err.syscall).toBe('open');
    expect(err.path).toBe(path);
    await seg.close();
  });

  it('ERR_NOT_FOUND when opening a missing file', () => {
    expectCode(() => native.openSegment(join(tmp.dir, 'missing'), SIZE), 'Error', 'ERR_NOT_FOUND');
  });

  it('extends a short file with zeros and reports originalSizeBytes', async () => {
    const path = fresh();
    writeFileSync(path, Buffer.from('hello world'));
    const seg = native.openSegment(path, SIZE);
    expect(seg.originalSizeBytes).toBe(11);
    expect(seg.sizeBytes).toBe(SIZE);
    expect(statSync(path).size).toBe(SIZE);
    expect(seg.read(0, 11).toString()).toBe('hello world');
    expect(seg.read(11, SIZE - 11).every((b) => b === 0)).toBe(true);
    await seg.close();
    const again = native.openSegment(path, SIZE);
    expect(again.originalSizeBytes).toBe(SIZE);
    await again.close();
  });

  it('readOnly: maps a short file without extending it (reads as zeros past the end)', async () => {
    const path = fresh();
    writeFileSync(path, Buffer.from('abc'));
    const seg = native.openSegment(path, SIZE, { readOnly: true });
    expect(statSync(path).size).toBe(3);
    expect(seg.originalSizeBytes).toBe(3);
    expect(seg.read(0, 3).toString()).toBe('abc');
    expect(seg.read(SIZE - 4096, 4096).every((b) => b === 0)).toBe(true);
    expectCode(() => seg.write(0, Buffer.from('x')), 'Error', 'ERR_SEALED');
    expectCode(() => seg.zero(0, 1), 'Error', 'ERR_SEALED');
    await seg.flush(0, 3);
    await seg.close();
  });

  it('ERR_SEGMENT_SIZE for a file larger than the segment size', () => {
    const path = fresh();
    const fd = openSync(path, 'w');
    ftruncateSync(fd, SIZE + 1);
    closeSync(fd);
    expectCode(() => native.openSegment(path, SIZE), 'Error', 'ERR_SEGMENT_SIZE');
    expectCode(() => native.openSegment(path, SIZE, { readOnly: true }), 'Error', 'ERR_SEGMENT_SIZE');
    expect(statSync(path).size).toBe(SIZE + 1);
  });

  it('rejects bad arguments', () => {
    expectCode(() => native.createSegment(42 as unknown as string, SIZE), 'TypeError', 'ERR_INVALID_ARG');
    expectCode(() => native.createSegment('', SIZE), 'TypeError', 'ERR_INVALID_ARG');
    expectCode(() => native.createSegment(fresh(), 'big' as unknown as number), 'TypeError', 'ERR_INVALID_ARG');
    expectCode(() => native.createSegment(fresh(), 0), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => native.createSegment(fresh(), -1), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => native.createSegment(fresh(), 1.5), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => native.openSegment(fresh(), SIZE, 'ro' as unknown as { readOnly: boolean }), 'TypeError', 'ERR_INVALID_ARG');
  });
});

describe('NativeSegment I/O', () => {
  let seg: NativeSegment;
  beforeAll(() => {
    seg = native.createSegment(fresh(), SIZE);
  });
  afterAll(async () => {
    await seg.close();
  });

  it('write / read / readInto round trip, also at the very end', () => {
    const rand = rng(1);
    const data = randomBytes(rand, 5000);
    seg.write(123, data);
    expect(seg.read(123, 5000).equals(data)).toBe(true);
    const target = Buffer.alloc(6000, 0xaa);
    seg.readInto(123, 5000, target, 1000);
    expect(target.subarray(1000).equals(data)).toBe(true);
    expect(target.subarray(0, 1000).every((b) => b === 0xaa)).toBe(true);
    const tail = randomBytes(rand, 16);
    seg.write(SIZE - 16, tail);
    expect(seg.read(SIZE - 16, 16).equals(tail)).toBe(true);
    seg.write(SIZE, new Uint8Array(0)); // empty write at the end is fine
    expect(seg.read(SIZE, 0).length).toBe(0);
    // a subarray with a byteOffset is copied from the right place
    const big = randomBytes(rand, 100);
    seg.write(0, big.subarray(10, 20));
    expect(seg.read(0, 10).equals(big.subarray(10, 20))).toBe(true);
  });

  it('the mapping is never writable: writes go through the file (no write-protect TLB shootdowns at writeback)', () => {
    const path = fresh();
    const s = native.createSegment(path, SIZE);
    try {
      s.write(0, Buffer.from('written through the descriptor'));
      expect(s.read(0, 30).toString()).toBe('written through the descriptor');
      // The bytes are in the file itself (same page cache), not only in a private copy.
      const fd = openSync(path, 'r');
      const fromFile = Buffer.alloc(30);
      readSync(fd, fromFile, 0, 30, 0);
      closeSync(fd);
      expect(fromFile.toString()).toBe('written through the descriptor');
      const maps = readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => line.endsWith(path));
      expect(maps.length).toBeGreaterThan(0);
      for (const line of maps) expect(line.split(/\s+/)[1]).toBe('r--s');
    } finally {
      void s.close();
    }
  });

  it('zero clears a range', () => {
    seg.write(100, Buffer.alloc(50, 7));
    seg.zero(110, 20);
    const r = seg.read(100, 50);
    expect(r.subarray(0, 10).every((b) => b === 7)).toBe(true);
    expect(r.subarray(10, 30).every((b) => b === 0)).toBe(true);
    expect(r.subarray(30).every((b) => b === 7)).toBe(true);
  });

  it('bounds errors are RangeError ERR_OUT_OF_RANGE, type errors TypeError ERR_INVALID_ARG', () => {
    const one = Buffer.alloc(1);
    expectCode(() => seg.write(SIZE, one), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => seg.write(SIZE - 1, Buffer.alloc(2)), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => seg.write(-1, one), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => seg.write(0.5, one), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => seg.write(NaN, one), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => seg.write(2 ** 60, one), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => seg.write('0' as unknown as number, one), 'TypeError', 'ERR_INVALID_ARG');
    expectCode(() => seg.write(0, 'abc' as unknown as Uint8Array), 'TypeError', 'ERR_INVALID_ARG');
    expectCode(() => seg.read(SIZE - 1, 2), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => seg.read(0, SIZE + 1), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => seg.readInto(0, 10, Buffer.alloc(5), 0), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => seg.readInto(0, 10, Buffer.alloc(20), 11), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => seg.readInto(SIZE, 1, Buffer.alloc(20), 0), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => seg.zero(SIZE - 1, 2), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => seg.flush(SIZE, 1), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => seg.scan(10, 5), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => seg.scan(0, SIZE + 1), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => seg.findValidRecord(0, SIZE + 1, 0), 'RangeError', 'ERR_OUT_OF_RANGE');
    expectCode(() => seg.prefault(SIZE, 1 as number), 'RangeError', 'ERR_OUT_OF_RANGE');
  });

  it('a single flush, and many concurrent flushes, resolve', async () => {
    seg.write(0, Buffer.from('durable'));
    await seg.flush(0, 7);
    const all: Promise<void>[] = [];
    for (let i = 0; i < 500; i++) {
      seg.write(i * 100, Buffer.alloc(100, i & 0xff));
      all.push(seg.flush(i * 100, 100));
    }
    all.push(seg.flush(0, 0));
    await Promise.all(all);
    // data reached the file
    const onDisk = readFileSync(seg.path);
    expect(onDisk.subarray(499 * 100, 500 * 100).every((b) => b === (499 & 0xff))).toBe(true);
  });
});

describe('group commit over many segments', () => {
  const threadNames = (): string[] =>
    readdirSync('/proc/self/task').map((t) => {
      try {
        return readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim();
      } catch {
        return '';
      }
    });

  it('flushes of many segments in one batch all resolve, their msyncs run on rl-sync helper threads', async () => {
    const segs = Array.from({ length: 9 }, () => native.createSegment(fresh(), SIZE));
    try {
      // A large dirty range first keeps the flusher busy while the other eight queue up
      // behind it: whatever the timing, some batch holds several segments.
      segs[0]!.write(0, Buffer.alloc(SIZE, 1));
      for (const [k, s] of segs.entries()) s.write(4096, Buffer.alloc(100, k + 1));
      const flushes: Promise<void>[] = [];
      for (let round = 0; round < 3; round++) for (const s of segs) flushes.push(s.flush(0, SIZE));
      await Promise.all(flushes);
      for (const [k, s] of segs.entries()) expect(s.read(4096, 100).equals(Buffer.alloc(100, k + 1))).toBe(true);
      if (process.platform === 'linux') {
        const names = threadNames();
        expect(names).toContain('rl-flusher');
        expect(names.filter((n) => n === 'rl-sync').length).toBeGreaterThan(0);
      }
    } finally {
      await Promise.all(segs.map((s) => s.close()));
    }
  });
});

describe('close', () => {
  it('after close every call throws ERR_CLOSED; close is idempotent', async () => {
    const seg = native.createSegment(fresh(), SIZE);
    const p1 = seg.close();
    const p2 = seg.close();
    await Promise.all([p1, p2]);
    await seg.close();
    expect(seg.closed).toBe(true);
    expect(seg.sizeBytes).toBe(SIZE);
    expectCode(() => seg.write(0, Buffer.alloc(1)), 'Error', 'ERR_CLOSED');
    expectCode(() => seg.read(0, 1), 'Error', 'ERR_CLOSED');
    expectCode(() => seg.readInto(0, 1, Buffer.alloc(1), 0), 'Error', 'ERR_CLOSED');
    expectCode(() => seg.zero(0, 1), 'Error', 'ERR_CLOSED');
    expectCode(() => seg.flush(0, 1), 'Error', 'ERR_CLOSED');
    expectCode(() => seg.prefault(), 'Error', 'ERR_CLOSED');
    expectCode(() => seg.scan(0, 1), 'Error', 'ERR_CLOSED');
    expectCode(() => seg.findValidRecord(0, 1, 0), 'Error', 'ERR_CLOSED');
  });

  it('close() waits for in-flight flushes', async () => {
    const seg = native.createSegment(fresh(), SIZE);
    const order: string[] = [];
    const flushes = [];
    for (let i = 0; i < 20; i++) {
      seg.write(i * 4096, Buffer.alloc(4096, 1));
      flushes.push(seg.flush(i * 4096, 4096).then(() => order.push('flush')));
    }
    const closed = seg.close().then(() => order.push('close'));
    expectCode(() => seg.write(0, Buffer.alloc(1)), 'Error', 'ERR_CLOSED');
    await Promise.all([...flushes, closed]);
    expect(order.at(-1)).toBe('close');
    expect(order.filter((x) => x === 'flush').length).toBe(20);
  });

  it('the constructor cannot be called from JS', () => {
    const seg = native.createSegment(fresh(), 4096);
    const Ctor = seg.constructor as unknown as new (...a: unknown[]) => unknown;
    expectCode(() => new Ctor(), 'TypeError', 'ERR_INVALID_ARG');
    expectCode(() => new Ctor({}), 'TypeError', 'ERR_INVALID_ARG');
    return seg.close();
  });
});

describe('prefault', () => {
  it('resolves, keeps existing data, and data written afterwards is readable', async () => {
    const seg = native.createSegment(fresh(), 8 << 20);
    seg.write(5000, Buffer.from('kept'));
    await seg.prefault();
    expect(seg.read(5000, 4).toString()).toBe('kept');
    const data = randomBytes(rng(8), 10000);
    seg.write((8 << 20) - 10000, data);
    expect(seg.read((8 << 20) - 10000, 10000).equals(data)).toBe(true);
    await seg.prefault(4096, 4096 * 3);
    await seg.prefault(1 << 20);
    await seg.close();
  });

  it('flushes are not stuck behind a large prefault', async () => {
    const seg = native.createSegment(fresh(), 64 << 20);
    const small = native.createSegment(fresh(), SIZE);
    const pf = seg.prefault();
    small.write(0, Buffer.from('x'));
    const t0 = performance.now();
    await small.flush(0, 1);
    const flushMs = performance.now() - t0;
    await pf;
    expect(flushMs).toBeLessThan(2000);
    await Promise.all([seg.close(), small.close()]);
  });

  it('close() during a prefault settles', async () => {
    const seg = native.createSegment(fresh(), 64 << 20);
    const pf = seg.prefault();
    await seg.close();
    await pf;
  });
});

describe('atomicWriteFile / syncDirectory', () => {
  it('replaces a file atomically and leaves no temp file', async () => {
    const path = join(tmp.dir, 'meta');
    await native.atomicWriteFile(path, Buffer.from('one'));
    expect(readFileSync(path, 'utf8')).toBe('one');
    await native.atomicWriteFile(path, Buffer.from('two!'));
    expect(readFileSync(path, 'utf8')).toBe('two!');
    expect(existsSync(path + '.tmp')).toBe(false);
    await native.syncDirectory(tmp.dir);
  });

  it('rejects with code, errno, syscall and path', async () => {
    const missingDir = join(tmp.dir, 'no', 'such', 'dir');
    const e1 = await rejection(native.atomicWriteFile(join(missingDir, 'meta'), Buffer.from('x')));
    expect(e1.code).toBe('ERR_NOT_FOUND');
    expect(e1.errno).toBe(2);
    expect(e1.syscall).toBe('open');
    expect(e1.path).toBe(join(missingDir, 'meta.tmp'));
    const e2 = await rejection(native.syncDirectory(missingDir));
    expect(e2.code).toBe('ERR_NOT_FOUND');
    expect(e2.path).toBe(missingDir);
    expectCode(() => native.atomicWriteFile(7 as unknown as string, Buffer.alloc(1)), 'TypeError', 'ERR_INVALID_ARG');
    expectCode(() => native.atomicWriteFile(join(tmp.dir, 'x'), 'str' as unknown as Uint8Array), 'TypeError', 'ERR_INVALID_ARG');
  });
});
