// What metrics and structured logs cost: the same 3-process cluster workload with --metrics
// off and on (then /metrics and /health/ready of every server scraped every second),
// alternating in one run so that machine drift hits both. Logs are JSON lines in both modes
// (they are always on); --log-level warn in a third mode shows what info-level lines cost.
//   node bench/metrics-cost.mjs [--rounds 2] [--seconds 10] [--size 1024] [--concurrency 128] [--durability fsync] [--modes off,on,on-warn]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../dist/tools/cluster/local-cluster.js';
import { waitForLeader } from '../dist/tools/cluster/cluster-status.js';
import { runLoad, percentile } from '../dist/tools/cluster/load.js';
import { connect } from '../dist/client/index.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const rounds = Number(arg('rounds', '2'));
const seconds = Number(arg('seconds', '10'));
const sizeBytes = Number(arg('size', '1024'));
const concurrency = Number(arg('concurrency', '128'));
const durability = arg('durability', 'fsync');
const modes = arg('modes', 'off,on').split(',');

async function once(mode) {
  const dir = mkdtempSync(join(tmpdir(), 'raftledger-metrics-cost-'));
  const metrics = mode !== 'off';
  const cluster = new LocalCluster({ replicas: 3, dir, durability, metrics, serverArgs: mode === 'on-warn' ? ['--log-level', 'warn'] : [] });
  let client;
  let scraper;
  try {
    await cluster.start();
    client = await connect({ servers: cluster.clientAddresses });
    await waitForLeader(client, 30_000);
    await runLoad({ client, concurrency, sizeBytes, durationMs: 2000 });
    let scrapes = 0;
    let scrapeMs = 0;
    if (metrics) {
      scraper = setInterval(() => {
        for (const s of cluster.servers.values()) {
          const t = performance.now();
          Promise.all([fetch(`http://${s.metrics}/metrics`).then((r) => r.text()), fetch(`http://${s.metrics}/health/ready`).then((r) => r.text())])
            .then(() => {
              scrapes++;
              scrapeMs += performance.now() - t;
            })
            .catch(() => {});
        }
      }, 1000);
    }
    const r = await runLoad({ client, concurrency, sizeBytes, durationMs: seconds * 1000 });
    const opsPerSec = r.ops / r.seconds;
    return { mode, opsPerSec, p50Ms: percentile(r.latenciesMs, 50), p99Ms: percentile(r.latenciesMs, 99), errors: r.errors, scrapes, meanScrapeMs: scrapes > 0 ? scrapeMs / scrapes : 0 };
  } finally {
    if (scraper !== undefined) clearInterval(scraper);
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
    process.stderr.write(`round ${round} ${mode}: ${Math.round(r.opsPerSec)} ops/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${r.scrapes} scrapes (mean ${r.meanScrapeMs.toFixed(1)} ms)\n`);
  }
}
const summary = {};
for (const mode of modes) {
  const mine = results.filter((r) => r.mode === mode);
  summary[mode] = { opsPerSec: mine.reduce((a, r) => a + r.opsPerSec, 0) / mine.length, p99Ms: Math.max(...mine.map((r) => r.p99Ms)) };
}
const base = summary.off?.opsPerSec;
for (const mode of modes) if (base !== undefined && mode !== 'off') summary[mode].vsOff = `${(((summary[mode].opsPerSec - base) / base) * 100).toFixed(1)}%`;
process.stdout.write(`${JSON.stringify({ sizeBytes, concurrency, durability, seconds, rounds, summary, results })}\n`);
