import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SegmentedLog, RecordType, isRaftLedgerError } from '../../src/index.js';
import { useTempDirs, payloadFor } from '../support/tmp.js';

const tempDir = useTempDirs();

const SEG = 64 * 1024;

async function expectCode(promise: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  try {
    if (typeof promise === 'function') await promise();
    else await promise;
  } catch (error) {
    expect(isRaftLedgerError(error) ? error.code : (error as Error).name + ':' + (error as Error).message).toBe(code);
    return;
  }
  throw new Error(`expected ${code}, but nothing was thrown`);
}

describe('SegmentedLog', () => {
  it('appends, reads back and survives reopen, across segment boundaries with padding', async () => {
    const dir = tempDir();
    const log = await SegmentedLog.open({ dir, segmentSizeBytes: SEG, indexSlotsPerFile: 1024 });
    const positions: number[] = [];
    for (let i = 1; i <= 3000; i += 10) {
      const batch = Array.from({ length: 10 }, (_, k) => payloadFor(i + k));
      const out = log.append(batch, 1);
      out.forEach((r, k) => {
        expect(r.index).toBe(i + k);
        positions.push(r.pos);
      });
    }
    expect(log.lastIndex).toBe(3000);
    expect(log.segmentCount).toBeGreaterThan(3);
    // No record straddles a segment.
    for (let i = 0; i < positions.length; i++) {
      const size = 48 + payloadFor(i + 1).byteLength;
      expect(Math.floor(positions[i]! / SEG)).toBe(Math.floor((positions[i]! + size - 1) / SEG));
    }
    for (let i = 1; i <= 3000; i += 97) {
      const e = log.read(i);
      expect(e.index).toBe(i);
      expect(e.term).toBe(1);
      expect(e.pos).toBe(positions[i - 1]);
      expect(e.data.equals(payloadFor(i))).toBe(true);
    }
    expect(await log.flush()).toBe(3000);
    await log.close();
    await log.close(); // idempotent

    const again = await SegmentedLog.open({ dir });
    expect(again.firstIndex).toBe(1);
    expect(again.lastIndex).toBe(3000);
    expect(again.lastTerm).toBe(1);
    let n = 0;
    for (const e of again.entries()) {
      n++;
      expect(e.pos).toBe(positions[e.index - 1]);
      expect(e.data.equals(payloadFor(e.index))).toBe(true);
    }
    expect(n).toBe(3000);
    const range = again.readRange(10, 2000, 4096);
    expect(range[0]!.index).toBe(10);
    expect(range.length).toBeGreaterThan(1);
    expect(range.reduce((s, e) => s + e.record.byteLength, 0)).toBeLessThan(4096 + 400);
    await again.close();
  });

  it('handles entries as large as a segment allows and rejects larger ones', async () => {
    const dir = tempDir();
    const log = await SegmentedLog.open({ dir, segmentSizeBytes: SEG });
    const big = Buffer.alloc(SEG - 48, 7);
    log.append(Buffer.from('small'), 1);
    const [r] = log.append(big, 1);
    expect(r!.pos).toBe(SEG); // it could not fit after 'small': next segment, padding before
    expect(log.read(2).data.equals(big)).toBe(true);
    await expectCode(() => log.append(Buffer.alloc(SEG - 47)), 'ERR_ENTRY_TOO_LARGE');
    expect(log.lastIndex).toBe(2); // nothing written by the failed call
    const capped = await SegmentedLog.open({ dir: tempDir(), segmentSizeBytes: SEG, maxEntrySizeBytes: 100 });
    await expectCode(() => capped.append(Buffer.alloc(101)), 'ERR_ENTRY_TOO_LARGE');
    await capped.close();
    await log.close();
  });

  it('appendRecords takes parts that continue each other: byte-identical, across segment rolls, and nothing written when any part is bad', async () => {
    const leader = await SegmentedLog.open({ dir: tempDir(), segmentSizeBytes: SEG });
    const follower = await SegmentedLog.open({ dir: tempDir(), segmentSizeBytes: SEG });
    const parts: Buffer[] = [];
    for (let i = 1; i <= 1200; i += 40) {
      const result = leader.appendEntries(Array.from({ length: 40 }, (_, k) => ({ term: 2, type: RecordType.Normal, data: payloadFor(i + k) })));
      parts.push(Buffer.concat(result.records));
    }
    expect(leader.writePos).toBeGreaterThan(2 * SEG); // the parts cross segment rolls (padding between them)
    // Every part but the last, then a bad last part: nothing of the call is written.
    const bad = Buffer.from(parts.at(-1)!);
    bad.writeUInt32LE(1, 24); // term 1 after term 2
    await expectCode(() => follower.appendRecords([...parts.slice(0, -1), bad], { checkedOnArrival: true }), 'ERR_LOG_CORRUPT');
    expect(follower.lastIndex).toBe(0);
    follower.appendRecords([...parts.slice(0, 12), Buffer.alloc(0), ...parts.slice(12)], { checkedOnArrival: true });
    follower.appendRecords([]);
    expect(follower.lastIndex).toBe(1200);
    expect(follower.writePos).toBe(leader.writePos);
    for (let i = 1; i <= 1200; i++) {
      expect(follower.read(i).pos).toBe(leader.read(i).pos);
      expect(follower.read(i).record.equals(leader.read(i).record)).toBe(true);
    }
    // Without checkedOnArrival each part is fully checked too; a damaged byte in a later part is found.
    const more = leader.appendEntries([1, 2].map((k) => ({ term: 2, data: payloadFor(1200 + k) }))).records;
    const damaged = Buffer.from(more[1]!);
    damaged[48]! ^= 1;
    await expectCode(() => follower.appendRecords([more[0]!, damaged]), 'ERR_LOG_CORRUPT');
    expect(follower.lastIndex).toBe(1200);
    follower.appendRecords([more[0]!, more[1]!]);
    expect(follower.read(1202).record.equals(leader.read(1202).record)).toBe(true);
    await Promise.all([leader.close(), follower.close()]);
  });

  it('replicates byte-identically with appendRecords and rejects misplaced or damaged records', async () => {
    const leader = await SegmentedLog.open({ dir: tempDir(), segmentSizeBytes: SEG });
    const follower = await SegmentedLog.open({ dir: tempDir(), segmentSizeBytes: SEG });
    for (let i = 1; i <= 2000; i += 50) {
      const result = leader.appendEntries(Array.from({ length: 50 }, (_, k) => ({ term: 2, type: RecordType.Normal, data: payloadFor(i + k) })));
      follower.appendRecords(Buffer.concat(result.records));
    }
    expect(follower.lastIndex).toBe(2000);
    for (let i = 1; i <= 2000; i++) {
      const a = leader.read(i);
      const b = follower.read(i);
      expect(b.pos).toBe(a.pos);
      expect(b.record.equals(a.record)).toBe(true);
    }
    const next = leader.appendEntries([{ term: 2, data: Buffer.from('x') }]).records[0]!;
    const damaged = Buffer.from(next);
    damaged[48]! ^= 1; // the body byte
    await expectCode(() => follower.appendRecords(damaged), 'ERR_LOG_CORRUPT');
    const other = await SegmentedLog.open({ dir: tempDir(), segmentSizeBytes: SEG });
    other.append(Buffer.from('zzz'));
    await expectCode(() => other.appendRecords(next), 'ERR_LOG_CORRUPT'); // wrong index (2001 after 1)
    expect(follower.lastIndex).toBe(2000);
    // Without checkedOnArrival everything is checked (structure, CRC, fit with the log)...
    const wrongIndex = Buffer.from(next);
    wrongIndex.writeUInt32LE(2005, 16);
    await expectCode(() => follower.appendRecords(wrongIndex), 'ERR_LOG_CORRUPT');
    const wrongMagic = Buffer.from(next);
    wrongMagic[0]! ^= 1;
    await expectCode(() => follower.appendRecords(wrongMagic), 'ERR_LOG_CORRUPT');
    // ...with it (structure and CRC checked on arrival: decoder, Ledger.receive) the fit with
    // this log still is: index continuity, term order, placement, and a walkable totalSize.
    await expectCode(() => follower.appendRecords(wrongIndex, { checkedOnArrival: true }), 'ERR_LOG_CORRUPT');
    const lowTerm = leader.appendEntries([{ term: 2, data: Buffer.from('y') }]).records[0]!;
    const lowTermCopy = Buffer.from(next);
    lowTermCopy.writeUInt32LE(1, 24); // term 1 after the log's term 2
    await expectCode(() => follower.appendRecords(lowTermCopy, { checkedOnArrival: true }), 'ERR_LOG_CORRUPT');
    const unwalkable = Buffer.from(next);
    unwalkable.writeUInt32LE(0, 8); // totalSize 0
    await expectCode(() => follower.appendRecords(unwalkable, { checkedOnArrival: true }), 'ERR_LOG_CORRUPT');
    await expectCode(() => follower.appendRecords(lowTerm, { checkedOnArrival: true }), 'ERR_LOG_CORRUPT'); // index 2002 after 2000
    const misplaced = Buffer.from(next);
    misplaced.writeUInt32LE(misplaced.readUInt32LE(32) + 8, 32);
    await expectCode(() => follower.appendRecords(misplaced, { checkedOnArrival: true }), 'ERR_PROTOCOL');
    expect(follower.lastIndex).toBe(2000);
    follower.appendRecords(next, { checkedOnArrival: true });
    expect(follower.read(2001).data.toString()).toBe('x');
    expect(follower.read(2001).record.equals(leader.read(2001).record)).toBe(true);
    await Promise.all([leader.close(), follower.close(), other.close()]);
  });

  it('truncateSuffix removes a conflicting tail durably and appends continue at the same pos', async () => {
    const dir = tempDir();
    const log = await SegmentedLog.open({ dir, segmentSizeBytes: SEG });
    log.append(Array.from({ length: 400 }, (_, i) => payloadFor(i + 1)), 1);
    await log.flush();
    const pos300 = log.posOf(300);
    await log.truncateSuffix(300);
    expect(log.lastIndex).toBe(299);
    expect(log.flushedIndex).toBe(299);
    await expectCode(() => log.read(300), 'ERR_OUT_OF_RANGE');
    const [r] = log.append(Buffer.from('new 300'), 2);
    expect(r).toEqual({ index: 300, pos: pos300 });
    expect(await log.flush()).toBe(300);
    await log.close();
    const again = await SegmentedLog.open({ dir });
    expect(again.lastIndex).toBe(300);
    expect(again.lastTerm).toBe(2);
    expect(again.read(300).data.toString()).toBe('new 300');
    expect(again.read(299).data.equals(payloadFor(299))).toBe(true);
    await again.close();
  });

  it('truncatePrefix and retention delete whole old segments but never past keepFromIndex', async () => {
    const dir = tempDir();
    const log = await SegmentedLog.open({ dir, segmentSizeBytes: SEG, indexSlotsPerFile: 1024 });
    log.append(Array.from({ length: 3000 }, (_, i) => payloadFor(i + 1)), 1);
    await log.flush();
    const before = log.segmentCount;
    expect(await log.applyRetention({ maxBytes: 1, keepFromIndex: 1 })).toBe(1); // keep index 1: nothing goes
    const first = await log.applyRetention({ maxBytes: 2 * SEG, keepFromIndex: 2500 });
    expect(first).toBeGreaterThan(1);
    expect(first).toBeLessThanOrEqual(2500);
    expect(log.segmentCount).toBeLessThan(before);
    await expectCode(() => log.read(first - 1), 'ERR_COMPACTED');
    expect(log.read(first).data.equals(payloadFor(first))).toBe(true);
    await log.close();
    const again = await SegmentedLog.open({ dir });
    expect(again.firstIndex).toBe(first);
    expect(again.lastIndex).toBe(3000);
    expect(again.read(3000).data.equals(payloadFor(3000))).toBe(true);
    expect(readdirSync(join(dir, 'log')).length).toBe(again.segmentCount);
    await again.close();
  });

  it('a crash after retention saved the new first index but before its unlinks ran: open ignores and removes the old segment files', async () => {
    const dir = tempDir();
    const log = await SegmentedLog.open({ dir, segmentSizeBytes: SEG, indexSlotsPerFile: 1024 });
    log.append(Array.from({ length: 3000 }, (_, i) => payloadFor(i + 1)), 1);
    await log.flush();
    const names = readdirSync(join(dir, 'log')).sort();
    const saved = names.map((n) => ({ n, bytes: readFileSync(join(dir, 'log', n)) }));
    const first = await log.applyRetention({ maxBytes: 2 * SEG, keepFromIndex: 2500 });
    expect(first).toBeGreaterThan(1);
    await log.close();
    const left = new Set(readdirSync(join(dir, 'log')));
    const deleted = saved.filter((f) => !left.has(f.n));
    expect(deleted.length).toBeGreaterThan(0);
    for (const f of deleted) writeFileSync(join(dir, 'log', f.n), f.bytes); // the unlinks never happened
    const again = await SegmentedLog.open({ dir });
    expect(again.firstIndex).toBe(first);
    expect(again.lastIndex).toBe(3000);
    await expectCode(() => again.read(first - 1), 'ERR_COMPACTED');
    expect(again.read(first).data.equals(payloadFor(first))).toBe(true);
    expect(again.read(3000).data.equals(payloadFor(3000))).toBe(true);
    expect(readdirSync(join(dir, 'log')).length).toBe(again.segmentCount);
    await again.close();
  });

  it('gives clear typed errors for bad input', async () => {
    const dir = tempDir();
    const log = await SegmentedLog.open({ dir, segmentSizeBytes: SEG });
    log.append(Buffer.from('a'));
    await expectCode(() => log.read(2), 'ERR_OUT_OF_RANGE');
    await expectCode(() => log.read(0), 'ERR_COMPACTED');
    expect(() => log.append('text' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => log.appendEntries([{ index: 5, term: 1, data: Buffer.alloc(1) }])).toThrow(RangeError);
    expect(() => log.appendEntries([{ term: 0, data: Buffer.alloc(1) }])).toThrow(RangeError); // term went down
    await log.close();
    await expectCode(() => log.read(1), 'ERR_CLOSED');
    await expectCode(SegmentedLog.open({ dir, segmentSizeBytes: SEG * 2 }), 'ERR_BAD_CONFIG');
    await expectCode(SegmentedLog.open({ dir: tempDir(), create: false }), 'ERR_NOT_A_LOG');
    await expectCode(SegmentedLog.open({ dir: join(tempDir(), 'nothing'), readOnly: true }), 'ERR_NOT_A_LOG');
    const foreign = tempDir();
    writeFileSync(join(foreign, 'notes.txt'), 'hello');
    await expectCode(SegmentedLog.open({ dir: foreign }), 'ERR_FOREIGN_FILE');
    mkdirSync(join(dir, 'log', 'junk'));
    await expectCode(SegmentedLog.open({ dir }), 'ERR_FOREIGN_FILE');
    await expect(SegmentedLog.open({ dir: tempDir(), segmentSizeBytes: 1000 })).rejects.toThrow(RangeError);
  });

  it('a read-only log serves reads and refuses appends', async () => {
    const dir = tempDir();
    const log = await SegmentedLog.open({ dir, segmentSizeBytes: SEG });
    log.append(Buffer.from('a'));
    await log.close();
    const ro = await SegmentedLog.open({ dir, readOnly: true });
    await expectCode(() => ro.append(Buffer.from('b')), 'ERR_ACCESS');
    expect(ro.read(1).data.toString()).toBe('a');
    await ro.close();
  });

  it('reports every successful flush to onFlushed (recovery flush included) and a throwing hook rejects that flush', async () => {
    const dir = tempDir();
    const events: Array<{ dir: string; flushedIndex: number; flushedPos: number }> = [];
    const log = await SegmentedLog.open({ dir, segmentSizeBytes: SEG, onFlushed: (e) => events.push({ ...e }) });
    expect(events).toEqual([]); // a new, empty log has nothing to recover
    log.append([Buffer.from('one'), Buffer.from('two')], 1);
    await log.flush();
    expect(events.at(-1)).toEqual({ dir, flushedIndex: 2, flushedPos: log.writePos });
    expect(log.flushedPos).toBe(log.writePos);
    await log.close();

    let fail = false;
    const reopened: number[] = [];
    const again = await SegmentedLog.open({
      dir,
      segmentSizeBytes: SEG,
      onFlushed: (e) => {
        if (fail) throw new Error('journal full');
        reopened.push(e.flushedIndex);
      },
    });
    expect(reopened).toEqual([2]); // the flush that ends recovery
    fail = true;
    again.append(Buffer.from('three'));
    await expect(again.flush()).rejects.toThrow('journal full');
    fail = false;
    expect(again.failed).toBeUndefined(); // the hook's throw does not latch the log
    again.append(Buffer.from('four'));
    expect(await again.flush()).toBe(4);
    await again.close();
  });
});
