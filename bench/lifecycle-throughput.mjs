// Throughput while retention deletes segments (issue 12), against the same run without
// retention, in one process run: three Ledgers (bench/lifecycle-cluster.mjs), --total bytes
// appended in entries of --entry bytes; run 1 keeps everything, run 2 has retention.maxBytes
// --keep, so segments are deleted throughout. Reported: bytes/s and entries/s of each, the
// ratio with/without (close to 1 means deleting costs the write path little) and the
// segments retention removed. --rounds N alternates the two runs N times (median of each).
// Prints one JSON object.
import { BenchCluster, flags } from './lifecycle-cluster.mjs';

const usage = `Usage: node bench/lifecycle-throughput.mjs [options]   (prints JSON)
  --total BYTES        bytes appended per run (default 1g)
  --keep BYTES         retention.maxBytes of the run with retention (default 256m)
  --segment BYTES      segment size (default 16m)
  --entry BYTES        payload bytes per entry (default 4k)
  --concurrency N      append batches in flight (default 16)
  --rounds N           runs of each kind, alternating (default 1)
  --durability MODE    fsync or memory (default fsync)
  --dir DIR            where the data goes (default the OS temp dir)
Smoke run: node bench/lifecycle-throughput.mjs --total 64m --keep 16m --segment 4m
`;
const o = flags(usage, { total: 1024 ** 3, keep: 256 * 1024 ** 2, segment: 16 * 1024 ** 2, entry: 4096, concurrency: 16, rounds: 1, durability: 'fsync', dir: '' });

async function run(withRetention) {
  const bc = new BenchCluster({
    ...(o.dir !== '' ? { dir: o.dir } : {}),
    ledger: {
      segmentSizeBytes: o.segment,
      durability: o.durability,
      minFreeBytes: 0,
      ...(withRetention ? { retention: { maxBytes: o.keep, holdForFollowersMs: 0, checkIntervalMs: 200 } } : {}),
    },
  });
  try {
    for (const id of ['a', 'b', 'c']) await bc.start(id);
    await bc.leader();
    const r = await bc.appendBytes(o.total, o.entry, o.concurrency);
    const leader = await bc.leader();
    const s = leader.status();
    const removedLines = bc.logs.filter((l) => l.includes('retention: first index')).length;
    return { seconds: r.seconds, entries: r.lastIndex, bytesPerSecond: o.total / r.seconds, entriesPerSecond: r.lastIndex / r.seconds, leaderFirstIndex: s.firstIndex, leaderDiskBytes: s.diskBytes, retentionRuns: removedLines };
  } finally {
    await bc.close();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const without = [];
const withR = [];
for (let i = 0; i < o.rounds; i++) {
  without.push(await run(false));
  withR.push(await run(true));
}
const mWithout = median(without.map((r) => r.bytesPerSecond));
const mWith = median(withR.map((r) => r.bytesPerSecond));
process.stdout.write(
  `${JSON.stringify({ bench: 'lifecycle-throughput', options: o, withoutRetention: without, withRetention: withR, medianBytesPerSecondWithout: mWithout, medianBytesPerSecondWith: mWith, withOverWithoutRatio: mWith / mWithout }, null, 2)}\n`,
);
