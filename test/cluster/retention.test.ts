/**
 * Retention across 3 server processes with small segments: while tens of MiB are
 * appended, every replica's segment files stay within the policy (plus the segments a
 * roll may add between two checks), each replica removed a prefix, and the retained
 * range is byte-identical (same pos) on every replica.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SegmentedLog } from '../../dist/storage/index.js';
import { startCluster, replicaDir, viewCluster, waitForLeader, waitUntil, type TestCluster } from '../support/process-cluster.js';

let tc: TestCluster | undefined;
afterEach(async () => {
  await tc?.close();
  tc = undefined;
});

const MiB = 1024 * 1024;
const SEGMENT = MiB;
const MAX_BYTES = 8 * MiB;
const APPEND_BYTES = 32 * MiB;
const PAYLOAD = 64 * 1024;
/**
 * Segment files allowed at any moment: the policy, the partly written segment, the spare,
 * and what arrives while one retention run makes its removal durable (two fsyncs: the
 * metadata, then the directory). Without retention the test would see 33 or more.
 */
const MAX_FILES_ANY_TIME = MAX_BYTES / SEGMENT + 10;

function segmentFiles(dir: string): number {
  try {
    return readdirSync(join(dir, 'log')).length;
  } catch {
    return 0;
  }
}

describe('retention (3 server processes)', () => {
  it('keeps disk use under --retention-bytes with 1 MiB segments while 32 MiB are appended', async () => {
    tc = await startCluster({
      segmentSizeBytes: SEGMENT,
      durability: 'fsync',
      serverArgs: ['--retention-bytes', String(MAX_BYTES), '--retention-hold-ms', '0'],
    });
    await waitForLeader(tc.client, 20_000);
    const dirs = tc.cluster.ids.map((id) => replicaDir(tc!, id));
    let maxFiles = 0;
    const sampler = setInterval(() => {
      for (const d of dirs) maxFiles = Math.max(maxFiles, segmentFiles(d));
    }, 50);
    let last = 0;
    try {
      const batches = APPEND_BYTES / (16 * PAYLOAD);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < batches) {
          const b = next++;
          const acks = await tc!.client.appendBatch(Array.from({ length: 16 }, (_, k) => Buffer.alloc(PAYLOAD, (b * 16 + k) & 0xff)));
          last = Math.max(last, acks.at(-1)!.index);
        }
      };
      await Promise.all([worker(), worker()]);
      await waitUntil(async () => (await viewCluster(tc!.client)).every((v) => (v.commitIndex ?? 0) >= last), 'every replica to commit', 20_000);
      // Retention settles after the last roll (timer: every 2 s).
      await waitUntil(() => dirs.every((d) => segmentFiles(d) <= MAX_BYTES / SEGMENT + 2), 'retention to settle', 10_000);
    } finally {
      clearInterval(sampler);
    }
    expect(maxFiles).toBeGreaterThan(0);
    expect(maxFiles).toBeLessThanOrEqual(MAX_FILES_ANY_TIME);
    const views = await viewCluster(tc.client);
    for (const v of views) {
      const s = v as typeof v & { firstIndex: number; firstPos: number; diskBytes: number };
      expect(s.firstIndex).toBeGreaterThan(1);
      expect(s.firstPos % SEGMENT).toBe(0);
      expect(s.diskBytes).toBeLessThanOrEqual(MAX_BYTES + 2 * SEGMENT);
    }
    await tc.cluster.stop();
    // The retained ranges overlap and hold the same bytes at the same pos everywhere.
    const logs = await Promise.all(dirs.map((dir) => SegmentedLog.open({ dir, readOnly: true })));
    try {
      const from = Math.max(...logs.map((l) => l.firstIndex));
      expect(from).toBeLessThanOrEqual(last);
      const [a, ...rest] = logs;
      for (const e of a!.readRange(from, last + 1)) {
        for (const other of rest) {
          const o = other.read(e.index);
          expect(o.pos).toBe(e.pos);
          expect(o.record.equals(e.record)).toBe(true);
        }
      }
    } finally {
      await Promise.all(logs.map((l) => l.close()));
    }
  }, 60_000);
});
