// Catch-up beyond retention (issue 12): three Ledgers (in one process, joined through the
// wire codec: bench/lifecycle-cluster.mjs) with retention keeping --keep bytes; a follower
// is stopped (or, --mode empty, its directory wiped), --total bytes are appended, and the
// follower is started again. Measured: the time until it holds and has committed the
// leader's last index, and the frame bytes sent to it meanwhile; against the physical
// limit, the time to copy a --keep-byte file on the same disk (copyFile + fsync), as a
// ratio. Prints one JSON object.
import { closeSync, copyFileSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BenchCluster, flags } from './lifecycle-cluster.mjs';

const usage = `Usage: node bench/lifecycle-catchup.mjs [options]   (prints JSON)
  --total BYTES        bytes appended while the follower is down (default 1g)
  --keep BYTES         retention.maxBytes on every replica (default 256m)
  --segment BYTES      segment size (default 16m)
  --entry BYTES        payload bytes per entry (default 64k)
  --concurrency N      append batches in flight (default 8)
  --mode MODE          stopped (the follower is stopped before the appends) or empty
                       (its directory is also wiped before it starts again) (default stopped)
  --durability MODE    fsync or memory (default fsync)
  --snapshot BYTES     synthetic application snapshot sent with the log start (default 0)
  --dir DIR            where the data goes (default the OS temp dir; pick the disk to measure)
Smoke run: node bench/lifecycle-catchup.mjs --total 64m --keep 16m --segment 4m
`;
const o = flags(usage, { total: 1024 ** 3, keep: 256 * 1024 ** 2, segment: 16 * 1024 ** 2, entry: 64 * 1024, concurrency: 8, mode: 'stopped', durability: 'fsync', snapshot: 0, dir: '' });
if (o.mode !== 'stopped' && o.mode !== 'empty') throw new Error('--mode must be stopped or empty');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const bc = new BenchCluster({
  ...(o.dir !== '' ? { dir: o.dir } : {}),
  ledger: {
    segmentSizeBytes: o.segment,
    durability: o.durability,
    retention: { maxBytes: o.keep, holdForFollowersMs: 0, checkIntervalMs: 200 },
    minFreeBytes: 0,
    ...(o.snapshot > 0 ? { appSnapshotBytes: o.snapshot } : {}),
  },
});
try {
  for (const id of ['a', 'b', 'c']) await bc.start(id);
  let leader = await bc.leader();
  await bc.appendBytes(Math.min(o.total, 4 * o.entry), o.entry, 1);
  const follower = ['a', 'b', 'c'].find((id) => id !== leader.id);
  await bc.stop(follower);
  const appended = await bc.appendBytes(o.total, o.entry, o.concurrency);
  // Retention runs on a timer: wait (bounded) until the leader is within the policy.
  leader = await bc.leader();
  const deadline = Date.now() + 120_000;
  while (leader.status().diskBytes > o.keep + 2 * o.segment && Date.now() < deadline) await sleep(100);
  const before = leader.status();
  if (o.mode === 'empty') rmSync(bc.dirOf(follower), { recursive: true, force: true });
  bc.bytes.clear();
  const t0 = process.hrtime.bigint();
  const f = await bc.start(follower);
  const target = leader.lastIndex;
  const catchDeadline = Date.now() + 600_000;
  while ((f.lastIndex < target || f.commitIndex < target) && Date.now() < catchDeadline) await sleep(5);
  const catchUpSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const caughtUp = f.lastIndex >= target && f.commitIndex >= target;
  let bytesToFollower = 0;
  for (const [k, v] of bc.bytes) if (k.endsWith(`>${follower}`)) bytesToFollower += v;
  const fs = f.status();

  // The physical limit: copy a --keep-byte file on the same disk, data synced.
  const src = join(bc.root, 'copy-src');
  const dst = join(bc.root, 'copy-dst');
  const block = Buffer.alloc(1024 * 1024, 0x62);
  const fd = openSync(src, 'w');
  for (let w = 0; w < o.keep; w += block.byteLength) writeSync(fd, block, 0, Math.min(block.byteLength, o.keep - w));
  fsyncSync(fd);
  closeSync(fd);
  const c0 = process.hrtime.bigint();
  copyFileSync(src, dst);
  const dfd = openSync(dst, 'r+');
  fsyncSync(dfd);
  closeSync(dfd);
  const copySeconds = Number(process.hrtime.bigint() - c0) / 1e9;

  process.stdout.write(
    `${JSON.stringify(
      {
        bench: 'lifecycle-catchup',
        options: o,
        appendedEntries: appended.lastIndex,
        appendSeconds: appended.seconds,
        leader: { firstIndex: before.firstIndex, lastIndex: before.lastIndex, diskBytes: before.diskBytes },
        follower: { id: follower, caughtUp, firstIndex: fs.firstIndex, lastIndex: fs.lastIndex, diskBytes: fs.diskBytes },
        catchUpSeconds,
        bytesToFollower,
        bytesToFollowerPerRetainedByte: before.diskBytes > 0 ? bytesToFollower / before.diskBytes : null,
        copyKeepBytesSeconds: copySeconds,
        catchUpOverCopyRatio: catchUpSeconds / copySeconds,
        resetLogged: bc.logs.some((l) => l.includes(`[${follower}] log reset`)),
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await bc.close();
}
