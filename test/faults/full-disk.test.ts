/**
 * A full disk under a 3-process cluster: every replica's directory is a small tmpfs (root
 * only; skipped with a message elsewhere). The leader's is filled below --min-free-bytes:
 * it refuses writes (ERR_NO_SPACE, logged naming the directory and the free bytes) and
 * hands leadership to a replica that can write, so the cluster keeps accepting appends;
 * it stores nothing new meanwhile; once the filler is deleted it resumes by itself and
 * catches up, and every acknowledged entry is on every replica.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster } from '../../dist/tools/cluster/local-cluster.js';
import { connect, type Client } from '../../dist/client/index.js';
import { SegmentedLog } from '../../dist/storage/index.js';
import { leaderOf, viewCluster, waitForLeader } from '../../dist/tools/cluster/cluster-status.js';
import { waitUntil } from '../support/process-cluster.js';
import { makeTempDir } from '../support/tmp.js';

const MiB = 1024 * 1024;
const IDS = ['n0', 'n1', 'n2'];
// Per replica: the index file (1M slots, allocated up front), two 1 MiB segments, metadata.
const TMPFS_SIZE = '64m';
const MIN_FREE_BYTES = 4 * MiB;

const t = makeTempDir('raftledger-fulldisk-');
const mounted: string[] = [];
let mountError = '';
let cluster: LocalCluster | undefined;
let client: Client | undefined;
const logs: string[] = [];

beforeAll(() => {
  for (const id of IDS) {
    const dir = join(t.dir, id);
    mkdirSync(dir, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE}`, 'tmpfs', dir], { stdio: 'pipe' });
      mounted.push(dir);
    } catch (error) {
      mountError = (error as Error).message;
      return;
    }
  }
});

afterAll(async () => {
  await client?.close().catch(() => {});
  await cluster?.stop().catch(() => {});
  for (const dir of mounted) {
    try {
      execFileSync('umount', [dir], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    }
  }
  t.cleanup();
});

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/** Fill `dir`'s filesystem until fewer than `leaveBytes` are free; returns the filler's path. */
function fill(dir: string, leaveBytes: number): string {
  const path = join(dir, 'filler');
  const chunk = Buffer.alloc(256 * 1024, 1);
  const parts: Buffer[] = [];
  for (let i = 0; i < 4096 && freeBytes(dir) - parts.length * chunk.byteLength > leaveBytes; i++) parts.push(chunk);
  writeFileSync(path, Buffer.concat(parts));
  return path;
}

describe('a full disk (3 server processes on tmpfs)', () => {
  it('the full replica refuses writes and hands leadership away; writes go on; it resumes once space is freed; nothing acknowledged is lost', async (ctx) => {
    if (mounted.length < IDS.length) {
      console.warn(`full-disk test skipped: cannot mount tmpfs (needs root): ${mountError}`);
      ctx.skip();
    }
    cluster = new LocalCluster({
      replicas: 3,
      dir: t.dir,
      tickMs: 5,
      heartbeatTicks: 4,
      electionTicks: 30,
      segmentSizeBytes: MiB,
      serverArgs: ['--min-free-bytes', String(MIN_FREE_BYTES)],
      onLog: (id, line) => {
        logs.push(`${id} | ${line}`);
        if (logs.length > 4000) logs.splice(0, 2000);
      },
    });
    await cluster.start();
    client = await connect({ servers: cluster.clientAddresses, deadlineMs: 20_000 });
    const acked = new Map<number, string>();
    const appendMany = async (count: number, tag: string): Promise<number> => {
      let last = 0;
      for (let i = 0; i < count; i += 10) {
        const batch = Array.from({ length: 10 }, (_, k) => `${tag}-${i + k}-${'x'.repeat(1000)}`);
        const acks = await client!.appendBatch(batch.map((s) => Buffer.from(s)));
        acks.forEach((a, k) => acked.set(a.index, batch[k]!));
        last = acks.at(-1)!.index;
      }
      return last;
    };
    await appendMany(100, 'before');
    const full = (await waitForLeader(client, 20_000)).id!;
    const filler = fill(join(t.dir, full), MIN_FREE_BYTES / 2);

    // The full leader notices within its check interval and hands leadership away.
    await waitForLeader(client, 20_000, full);
    await waitUntil(async () => (await viewCluster(client!)).find((v) => v.id === full)?.noSpace === true, `${full} to report noSpace`, 20_000);
    expect(logs.some((l) => l.startsWith(`${full} |`) && l.includes(`has `) && l.includes('bytes free, below min-free-bytes'))).toBe(true);
    const fullLast = (await viewCluster(client)).find((v) => v.id === full)!.lastIndex!;
    const during = await appendMany(100, 'during');
    const views = await viewCluster(client);
    expect(leaderOf(views)!.id).not.toBe(full);
    // It stored (so acknowledged) nothing new while it could not write.
    expect(views.find((v) => v.id === full)!.lastIndex).toBeLessThanOrEqual(fullLast);

    rmSync(filler);
    await waitUntil(
      async () => {
        const v = (await viewCluster(client!)).find((x) => x.id === full);
        return v?.noSpace === false && (v.commitIndex ?? 0) >= during;
      },
      `${full} to resume and catch up`,
      20_000,
    );
    const after = await appendMany(50, 'after');
    await waitUntil(async () => (await viewCluster(client!)).every((v) => (v.commitIndex ?? 0) >= after), 'every replica to commit', 20_000);
    await client.close();
    client = undefined;
    await cluster.stop();
    cluster = undefined;
    for (const id of IDS) {
      const log = await SegmentedLog.open({ dir: join(t.dir, id, 'group-0'), readOnly: true });
      try {
        for (const [index, text] of acked) expect(log.read(index).data.toString(), `${id} index ${index}`).toBe(text);
      } finally {
        await log.close();
      }
    }
  }, 90_000);
});
