/**
 * The follower's spool of a partly received application snapshot (snapshot-spool.ts;
 * docs/FORMAT.md, "snapshot.partial"): a restarted follower hands its core the spooled
 * prefix with the first chunk of the same transfer; a torn or damaged tail is cut at the
 * last whole piece; another transfer replaces the file; a done reset removes it.
 */
import { appendFileSync, existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LogStartMessage } from '../../src/raft/index.js';
import { SPOOL_FILE, SnapshotSpool, decodeSpool } from '../../src/replica/snapshot-spool.js';
import { useTempDirs } from '../support/tmp.js';

const tempDir = useTempDirs('raftledger-spool-');
const BLOB = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff));

function chunk(offset: number, len: number, over: Partial<LogStartMessage> = {}): LogStartMessage {
  return {
    type: 'logStart', from: 'a', to: 'b', term: 3, index: 40, logTerm: 2, pos: 4096,
    snapshotVersion: 77, snapshotSize: BLOB.byteLength, offset, chunk: BLOB.subarray(offset, offset + len), ...over,
  };
}

describe('SnapshotSpool', () => {
  it('a restarted follower resumes: the first chunk after the restart reaches the core as the spooled prefix at offset 0', () => {
    const dir = tempDir();
    const s1 = new SnapshotSpool(dir, () => {});
    for (let o = 0; o < 300; o += 100) expect(s1.receive(chunk(o, 100))).toEqual(chunk(o, 100)); // passed through
    expect(s1.heldBytes).toBe(300);
    const lines: string[] = [];
    const s2 = new SnapshotSpool(dir, (l) => lines.push(l));
    expect(lines.join()).toMatch(/found 300 of 1000 bytes/);
    expect(lines.join()).not.toMatch(/resuming/);
    // The leader re-sends from the offset last acknowledged (300): the core gets [0, 400) at 0.
    const m = s2.receive(chunk(300, 100));
    expect(m.offset).toBe(0);
    expect(Buffer.from(m.chunk).equals(BLOB.subarray(0, 400))).toBe(true);
    expect(lines.join()).toMatch(/resuming the application snapshot of a log start at 400 of 1000 bytes/);
    // Then the core holds 400 and later chunks pass through.
    expect(s2.receive(chunk(400, 100)).offset).toBe(400);
    expect(s2.heldBytes).toBe(500);
    // The leader starting over from 0 also gets the prefix.
    const s3 = new SnapshotSpool(dir, () => {});
    const z = s3.receive(chunk(0, 100));
    expect(z.offset).toBe(0);
    expect(Buffer.from(z.chunk).equals(BLOB.subarray(0, 500))).toBe(true);
  });

  it('another transfer (a new leader\'s version) is not resumed and replaces the file', () => {
    const dir = tempDir();
    const s1 = new SnapshotSpool(dir, () => {});
    s1.receive(chunk(0, 200));
    const s2 = new SnapshotSpool(dir, () => {});
    const other = chunk(0, 100, { snapshotVersion: 78, from: 'c' });
    expect(s2.receive(other)).toEqual(other);
    expect(s2.heldBytes).toBe(100);
    expect(decodeSpool(readFileSync(join(dir, SPOOL_FILE)))!.id.version).toBe(78);
    // A chunk not at 0 of an unknown transfer is passed on and not spooled.
    const s3 = new SnapshotSpool(dir, () => {});
    expect(s3.receive(chunk(500, 100, { snapshotVersion: 79 })).offset).toBe(500);
    expect(decodeSpool(readFileSync(join(dir, SPOOL_FILE)))!.id.version).toBe(78);
  });

  it('a torn or damaged tail is cut at the last whole piece; a damaged header means no spool', () => {
    const dir = tempDir();
    const s1 = new SnapshotSpool(dir, () => {});
    for (let o = 0; o < 300; o += 100) s1.receive(chunk(o, 100));
    const path = join(dir, SPOOL_FILE);
    const size = readFileSync(path).byteLength;
    truncateSync(path, size - 10); // torn last piece
    expect(new SnapshotSpool(dir, () => {}).heldBytes).toBe(200);
    const bytes = readFileSync(path);
    bytes[52 + 8 + 5]! ^= 1; // the first piece's bytes: its CRC fails
    writeFileSync(path, bytes);
    expect(decodeSpool(readFileSync(path))!.bytes.byteLength).toBe(0);
    expect(new SnapshotSpool(dir, () => {}).heldBytes).toBe(0);
    expect(existsSync(path)).toBe(false); // nothing usable: removed
    writeFileSync(path, Buffer.from('RLSPOOL1 not a header'));
    expect(decodeSpool(readFileSync(path))).toBeNull();
    appendFileSync(path, Buffer.alloc(100));
    expect(new SnapshotSpool(dir, () => {}).heldBytes).toBe(0);
  });

  it('is removed once the log starts at or after its boundary', () => {
    const dir = tempDir();
    const s = new SnapshotSpool(dir, () => {});
    s.receive(chunk(0, 100));
    s.dropIfPast(39);
    expect(existsSync(join(dir, SPOOL_FILE))).toBe(true);
    s.dropIfPast(40);
    expect(existsSync(join(dir, SPOOL_FILE))).toBe(false);
    expect(s.heldBytes).toBe(0);
  });
});
