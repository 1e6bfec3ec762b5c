// Repair figures (issue 16): how long a replica takes to repair damage from its peers, and
// how many bytes it fetches, in a 3-process cluster:
//   one-record  one flipped bit in a record of an old sealed segment of a stopped follower,
//               which is then restarted with no flags (start-up repair);
//   range       a zeroed 1 MiB range (--zero-bytes) in the same old sealed segment, likewise;
//   scrub       one flipped bit in an old sealed segment of a running follower, found by its
//               background scrub (the default rate unless --scrub-rate) and repaired.
// Times and bytes come from the replica's own status().repair (lastRepairMs, bytesFetched,
// repaired); the wall time of the restart (start-up check + repair + start) and, for the
// scrub, from the damage to the repair are measured here. Prints one JSON line.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../dist/tools/cluster/local-cluster.js';
import { viewCluster, waitForLeader } from '../dist/tools/cluster/cluster-status.js';
import { SegmentedLog, verifyLog } from '../dist/storage/index.js';
import { connect } from '../dist/client/index.js';
import { benchArgs } from './args.mjs';

const HELP = `usage: node bench/repair-figures.mjs [options]
  --total-mib N         data appended before the damage (default 32; at least 2 segments)
  --size BYTES          payload size (default 4096)
  --segment-size BYTES  segment size (default 4194304)
  --zero-bytes BYTES    size of the zeroed range of the "range" case (default 1048576)
  --cases LIST          comma list of one-record, range, scrub (default one-record,range,scrub)
  --scrub-rate BYTES    --scrub-bytes-per-sec of the servers (default: the server default)
  --durability MODE     fsync | memory (default fsync)
  --timeout-s S         give up after this long in all (default 600)
Full size (the integrator, in a quiet window):
  node bench/repair-figures.mjs --total-mib 32
Tiny (proves it works):
  node bench/repair-figures.mjs --total-mib 3 --segment-size 1048576 --zero-bytes 262144`;

const { argv, arg, num } = benchArgs(HELP, ['total-mib', 'size', 'segment-size', 'zero-bytes', 'cases', 'scrub-rate', 'durability', 'timeout-s']);
const totalBytes = num('total-mib', '32', 0.1) * 1024 * 1024;
const sizeBytes = num('size', '4096', 16);
const segmentSizeBytes = num('segment-size', String(4 * 1024 * 1024), 65536);
const zeroBytes = num('zero-bytes', String(1024 * 1024), 1);
const timeoutS = num('timeout-s', '600', 1);
const durability = arg('durability', 'fsync');
const scrubRate = arg('scrub-rate', undefined);
const cases = arg('cases', 'one-record,range,scrub').split(',');
for (const c of cases) {
  if (!['one-record', 'range', 'scrub'].includes(c)) {
    process.stderr.write(`unknown case ${c}\n`);
    process.exit(2);
  }
}
if (totalBytes < 2 * segmentSizeBytes) {
  process.stderr.write('--total-mib must fill at least two segments (the damage goes into an old sealed one)\n');
  process.exit(2);
}
if (zeroBytes > segmentSizeBytes / 2) {
  process.stderr.write('--zero-bytes must be at most half a segment\n');
  process.exit(2);
}
const deadline = setTimeout(() => {
  process.stderr.write(`repair-figures: gave up after ${timeoutS} s\n`);
  LocalCluster.killAllNow();
  process.exit(1);
}, timeoutS * 1000);
deadline.unref();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const segmentFile = (dir, base) => join(dir, 'log', String(base).padStart(20, '0'));

async function until(what, fn, limitMs = 60_000) {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function flip(path, offset) {
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, offset);
  b[0] ^= 0x10;
  writeSync(fd, b, 0, 1, offset);
  closeSync(fd);
}

function zero(path, offset, bytes) {
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(bytes), 0, bytes, offset);
  closeSync(fd);
}

/** The record (index, pos) nearest `offset` into segment 0 of a replica's log, read-only. */
async function recordAt(dir, offset) {
  const log = await SegmentedLog.open({ dir, readOnly: true });
  try {
    let lo = log.firstIndex;
    let hi = log.lastIndex;
    while (lo < hi) {
      const mid = Math.floor((lo + hi + 1) / 2);
      if (log.posOf(mid) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { index: lo, pos: log.posOf(lo) };
  } finally {
    await log.close();
  }
}

async function repairOf(client, id) {
  const all = await client.statusAll();
  return all.find((r) => r.status?.id === id)?.status?.repair;
}

const dir = mkdtempSync(join(tmpdir(), 'raftledger-repair-figures-'));
const cluster = new LocalCluster({ replicas: 3, dir, durability, segmentSizeBytes, serverArgs: scrubRate !== undefined ? ['--scrub-bytes-per-sec', scrubRate] : [] });
let client;
const results = [];
let verifyClean;
try {
  await cluster.start();
  client = await connect({ servers: cluster.clientAddresses, deadlineMs: 30_000, idempotent: false });
  const leader = await waitForLeader(client, 30_000);
  const payload = Buffer.alloc(sizeBytes, 7);
  let last = 0;
  for (let written = 0; written < totalBytes; written += 64 * sizeBytes) {
    const acks = await Promise.all(Array.from({ length: 64 }, () => client.append(payload)));
    last = Math.max(last, ...acks.map((a) => a.index));
  }
  await until('every replica to commit', async () => (await viewCluster(client)).every((v) => (v.commitIndex ?? 0) >= last));
  const f = cluster.ids.find((id) => id !== leader.id);
  const fdir = join(dir, f, 'group-0');
  process.stderr.write(`appended ${last} entries (${(totalBytes / 1048576).toFixed(1)} MiB); damaging follower ${f}\n`);

  for (const which of cases) {
    if (which === 'scrub') {
      const before = await repairOf(client, f);
      const at = await recordAt(fdir, Math.floor(segmentSizeBytes / 3));
      const t0 = performance.now();
      flip(segmentFile(fdir, 0), at.pos + 60); // under the running server: its mapping sees the file's bytes
      const after = await until('the scrub to find and repair the damage', async () => {
        const r = await repairOf(client, f);
        return r !== undefined && r.repaired > (before?.repaired ?? 0) && r.damagedNow === 0 ? r : undefined;
      }, Math.max(60_000, (timeoutS * 1000) / 2));
      results.push({
        case: which,
        index: at.index,
        foundAndRepairedMs: performance.now() - t0,
        repairMs: after.lastRepairMs,
        bytesFetched: after.bytesFetched - (before?.bytesFetched ?? 0),
        recordsRepaired: after.repaired - (before?.repaired ?? 0),
        scrubBytesPerSec: after.scrub.bytesPerSec,
      });
    } else {
      await cluster.kill(f, 'SIGTERM'); // a clean stop: its checkpoint covers every record
      const at = await recordAt(fdir, Math.floor(segmentSizeBytes / 4));
      if (which === 'one-record') flip(segmentFile(fdir, 0), at.pos + 60);
      else zero(segmentFile(fdir, 0), at.pos, zeroBytes);
      const t0 = performance.now();
      await cluster.startServer(f); // no flags: it repairs before it serves
      const startMs = performance.now() - t0;
      const r = await until('the restarted replica to report its repair', async () => {
        const x = await repairOf(client, f);
        return x !== undefined && x.lastRepairMs !== undefined ? x : undefined;
      });
      results.push({ case: which, index: at.index, zeroedBytes: which === 'range' ? zeroBytes : 0, restartMs: startMs, repairMs: r.lastRepairMs, bytesFetched: r.bytesFetched, recordsRepaired: r.repaired });
    }
    process.stderr.write(`${JSON.stringify(results[results.length - 1])}\n`);
  }
  await client.close();
  client = undefined;
  await cluster.stop();
  verifyClean = (await verifyLog(fdir)).clean;
} finally {
  await client?.close();
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
const command = `node bench/repair-figures.mjs ${argv.join(' ')}`.trim();
process.stdout.write(`${JSON.stringify({ bench: 'repair-figures', command, totalBytes, sizeBytes, segmentSizeBytes, durability, verifyCleanAfter: verifyClean, results })}\n`);
clearTimeout(deadline);
