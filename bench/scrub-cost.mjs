// What the background scrub costs (issue 16): the same 3-process cluster workload with the
// scrub off (--scrub-bytes-per-sec 0), at the default rate (no flag) and optionally at a high
// rate, alternating in one run so that machine drift hits every mode. Before each measured
// window the log is filled (--prefill-seconds) so the scrub has sealed, committed records to
// re-verify; the bytes it verified during the window (raftledger_scrub_verified_bytes_total,
// summed over the servers) show that it ran. Prints one JSON line: per mode mean ops/s, p99,
// scrubbed bytes/s, and the ratio to off.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../dist/tools/cluster/local-cluster.js';
import { waitForLeader } from '../dist/tools/cluster/cluster-status.js';
import { runLoad, percentile } from '../dist/tools/cluster/load.js';
import { connect } from '../dist/client/index.js';
import { benchArgs } from './args.mjs';

const HELP = `usage: node bench/scrub-cost.mjs [options]
  --rounds N            alternating rounds of every mode (default 3)
  --seconds S           measured load per run (default 10)
  --prefill-seconds S   load before the measured window, so there is a log to scrub (default 5)
  --size BYTES          payload size (default 1024)
  --concurrency N       appends in flight (default 128)
  --durability MODE     fsync | memory (default fsync)
  --segment-size BYTES  segment size of the servers (default 8388608: the prefill seals several)
  --modes LIST          comma list of off, default, high (default off,default,high)
  --high-rate BYTES     scrub rate of the "high" mode (default 268435456, 256 MiB/s)
  --timeout-s S         give up after this long in all (default 900)
Full size (the integrator, in a quiet window):
  node bench/scrub-cost.mjs --rounds 3 --seconds 10 --prefill-seconds 5
Tiny (proves it works):
  node bench/scrub-cost.mjs --rounds 1 --seconds 1 --prefill-seconds 1 --concurrency 8`;

const { argv, arg, num } = benchArgs(HELP, ['rounds', 'seconds', 'prefill-seconds', 'size', 'concurrency', 'durability', 'segment-size', 'modes', 'high-rate', 'timeout-s']);
const rounds = num('rounds', '3', 1);
const seconds = num('seconds', '10', 0.1);
const prefillSeconds = num('prefill-seconds', '5', 0);
const sizeBytes = num('size', '1024', 1);
const concurrency = num('concurrency', '128', 1);
const segmentSizeBytes = num('segment-size', String(8 * 1024 * 1024), 65536);
const highRate = num('high-rate', String(256 * 1024 * 1024), 1);
const timeoutS = num('timeout-s', '900', 1);
const durability = arg('durability', 'fsync');
const modes = arg('modes', 'off,default,high').split(',');
for (const m of modes) {
  if (!['off', 'default', 'high'].includes(m)) {
    process.stderr.write(`unknown mode ${m}\n`);
    process.exit(2);
  }
}
const deadline = setTimeout(() => {
  process.stderr.write(`scrub-cost: gave up after ${timeoutS} s\n`);
  LocalCluster.killAllNow();
  process.exit(1);
}, timeoutS * 1000);
deadline.unref();

const scrubArgs = (mode) => (mode === 'off' ? ['--scrub-bytes-per-sec', '0'] : mode === 'high' ? ['--scrub-bytes-per-sec', String(highRate)] : []);

/** Sum of raftledger_scrub_verified_bytes_total over every server's /metrics. */
async function scrubbedBytes(cluster) {
  let total = 0;
  for (const s of cluster.servers.values()) {
    if (s.metrics === undefined) continue;
    const text = await fetch(`http://${s.metrics}/metrics`).then((r) => r.text()).catch(() => '');
    for (const line of text.split('\n')) if (line.startsWith('raftledger_scrub_verified_bytes_total')) total += Number(line.split(' ').pop()) || 0;
  }
  return total;
}

async function once(mode) {
  const dir = mkdtempSync(join(tmpdir(), 'raftledger-scrub-cost-'));
  const cluster = new LocalCluster({ replicas: 3, dir, durability, metrics: true, segmentSizeBytes, serverArgs: scrubArgs(mode) });
  let client;
  try {
    await cluster.start();
    client = await connect({ servers: cluster.clientAddresses });
    await waitForLeader(client, 30_000);
    if (prefillSeconds > 0) await runLoad({ client, concurrency, sizeBytes, durationMs: prefillSeconds * 1000 });
    const before = await scrubbedBytes(cluster);
    const r = await runLoad({ client, concurrency, sizeBytes, durationMs: seconds * 1000 });
    const after = await scrubbedBytes(cluster);
    return { mode, opsPerSec: r.ops / r.seconds, p50Ms: percentile(r.latenciesMs, 50), p99Ms: percentile(r.latenciesMs, 99), errors: r.errors, scrubbedBytesPerSec: (after - before) / r.seconds };
  } finally {
    await client?.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (let round = 0; round < rounds; round++) {
  for (const mode of round % 2 === 0 ? modes : [...modes].reverse()) {
    const r = await once(mode);
    results.push(r);
    process.stderr.write(`round ${round} ${mode}: ${Math.round(r.opsPerSec)} ops/s, p99 ${r.p99Ms.toFixed(2)} ms, scrubbed ${(r.scrubbedBytesPerSec / 1048576).toFixed(2)} MiB/s (3 servers)\n`);
  }
}
const summary = {};
for (const mode of modes) {
  const mine = results.filter((r) => r.mode === mode);
  summary[mode] = {
    opsPerSec: mine.reduce((a, r) => a + r.opsPerSec, 0) / mine.length,
    p99Ms: Math.max(...mine.map((r) => r.p99Ms)),
    scrubbedBytesPerSec: mine.reduce((a, r) => a + r.scrubbedBytesPerSec, 0) / mine.length,
  };
}
const base = summary.off?.opsPerSec;
for (const mode of modes) if (base !== undefined && mode !== 'off') summary[mode].ratioToOff = Number((summary[mode].opsPerSec / base).toFixed(4));
const command = `node bench/scrub-cost.mjs ${argv.join(' ')}`.trim();
process.stdout.write(`${JSON.stringify({ bench: 'scrub-cost', command, sizeBytes, concurrency, durability, seconds, prefillSeconds, segmentSizeBytes, rounds, highRate, summary, results })}\n`);
clearTimeout(deadline);
