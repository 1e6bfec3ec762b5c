/**
 * A write that really hits ENOSPC (no threshold: minFreeBytes 0) on a follower whose
 * directory is a small tmpfs (root only; skipped with a message elsewhere): the replica
 * does not stop; the entries the disk refused wait, unacknowledged, and are written once
 * space is freed, and the follower catches up with everything acknowledged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryCluster } from '../support/memory-cluster.js';
import { makeTempDir } from '../support/tmp.js';

const t = makeTempDir('raftledger-enospc-');
const mnt = join(t.dir, 'mnt');
let mounted = false;
let mountError = '';
beforeAll(() => {
  mkdirSync(mnt);
  try {
    // The index file (1M slots of 24 bytes) is allocated up front: 24 MiB, plus segments.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=28m', 'tmpfs', mnt], { stdio: 'pipe' });
    mounted = true;
  } catch (error) {
    mountError = (error as Error).message;
  }
});
let cluster: MemoryCluster | undefined;
afterAll(async () => {
  await cluster?.close();
  if (mounted) {
    try {
      execFileSync('umount', [mnt], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
    }
  }
  t.cleanup();
});

function fillUp(dir: string): string {
  const path = join(dir, 'filler');
  const s = statfsSync(dir);
  try {
    writeFileSync(path, Buffer.alloc(Number(s.bavail) * Number(s.bsize), 1));
  } catch {
    // ENOSPC: as full as it gets
  }
  return path;
}

describe('ENOSPC on a follower without a threshold', () => {
  it('the follower keeps running, stores nothing it cannot, and catches up once space is freed', async (ctx) => {
    if (!mounted) {
      console.warn(`ENOSPC test skipped: cannot mount tmpfs (needs root): ${mountError}`);
      ctx.skip();
    }
    const SEGMENT = 256 * 1024;
    cluster = new MemoryCluster(3, { segmentSizeBytes: SEGMENT, minFreeBytes: 0, spaceCheckIntervalMs: 20 });
    const [a, b, f] = cluster.ids as [string, string, string];
    await cluster.start(a);
    await cluster.start(b);
    // f must not lead (its disk is the one that fills): it joins once a and b elected one.
    const leader = await cluster.waitForLeader(10_000);
    const follower = await cluster.start(f, { dir: join(mnt, 'f') });
    const acked = new Map<number, number>();
    const payload = (i: number): Buffer => Buffer.alloc(8000, i & 0xff);
    for (let i = 0; i < 20; i++) acked.set((await leader.append(payload(i))).index, i);
    await cluster.waitFor(() => follower.commitIndex >= Math.max(...acked.keys()), 'the follower to hold the first entries');
    const filler = fillUp(mnt);
    // Enough for several new segments: the follower cannot create them.
    for (let i = 20; i < 200; i++) acked.set((await leader.append(payload(i))).index, i);
    const last = Math.max(...acked.keys());
    // ENOSPC reaches it through a segment it cannot create or a metadata save it cannot write.
    await cluster.waitFor(() => follower.status().noSpace, 'the follower to hit ENOSPC', 30_000).catch((error: unknown) => {
      const st = statfsSync(mnt);
      const state = `follower last ${follower.lastIndex}, leader last ${leader.lastIndex}, free ${Number(st.bavail) * Number(st.bsize)}`;
      throw new Error(`${(error as Error).message} (${state}); its log:\n${cluster!.logs.filter((l) => l.includes(`[${f}]`)).slice(-15).join('\n')}`);
    });
    expect(follower.lastIndex).toBeLessThan(last);
    expect(cluster.logs.some((l) => l.includes(`[${f}]`) && l.includes('after a write failed with ENOSPC'))).toBe(true);
    expect(cluster.logs.filter((l) => l.includes(`[${f}]`) && l.includes("stopped"))).toEqual([]);
    rmSync(filler);
    await cluster.waitFor(() => follower.commitIndex >= last && follower.lastIndex >= last, 'the follower to catch up', 30_000);
    expect(follower.status().noSpace).toBe(false);
    for (const [index, i] of acked) expect(follower.read(index)!.payload.equals(payload(i)), `index ${index}`).toBe(true);
  });
});
