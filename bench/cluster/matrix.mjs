// The DESIGN.md workload as a matrix: for each durability mode, concurrency, group count and
// worker count, a fresh 3-process cluster driven through the network client (raftledger
// bench), one JSON line per cell in bench/results/cluster.jsonl, then a table with, per
// cell, the ratio to W = 0 measured in the same run and the servers' main-thread event-loop
// delay p99 (worst 1 s window). Optionally the failover figure.
//   node bench/cluster/matrix.mjs [--duration 10] [--warmup 2] [--size 1024] [--concurrency 1,16,128]
//        [--durability fsync,memory] [--groups 1] [--workers 0] [--failover 5]
//        [--report DIR [--peers /tmp/peers/results/etcd.jsonl,/tmp/peers/results/nats.jsonl]]
// --report DIR writes one self-contained page (DIR/index.html, data in DIR/report.json)
// with every cell of this run and, from --peers, the peers' result lines (../shared/peers)
// side by side; bench/report-screenshot.mjs DIR renders it in headless Chromium.
// The LedgerHost targets of issue 5: --concurrency 128 --groups 8 --workers 0,2
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readBenchCells, writeBenchReport } from '../../dist/tools/cluster/bench-report.js';
import { HEAP_NODE_FLAGS } from '../../dist/tools/node-flags.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const OUT_DIR = fileURLToPath(new URL('../results/', import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const duration = arg('duration', '10');
const warmup = arg('warmup', '2');
const size = arg('size', '1024');
const concurrencies = arg('concurrency', '1,16,128').split(',');
const modes = arg('durability', 'fsync,memory').split(',');
const groupCounts = arg('groups', '1').split(',');
const workerCounts = arg('workers', '0').split(',');
const failovers = arg('failover', '0');
const reportDir = arg('report', undefined);
const peerFiles = arg('peers', '').split(',').filter((f) => f !== '');
if (peerFiles.length > 0 && reportDir === undefined) throw new Error('--peers goes with --report DIR');
const peerCells = peerFiles.flatMap((f) => readBenchCells(f)); // read first: a bad file fails before the long run
mkdirSync(OUT_DIR, { recursive: true });
const out = `${OUT_DIR}cluster.jsonl`;

function bench(args) {
  const r = spawnSync(process.execPath, [...HEAP_NODE_FLAGS, MAIN, 'bench', ...args, '--json'], { encoding: 'utf8', timeout: 10 * 60_000 });
  if (r.status !== 0) throw new Error(`bench ${args.join(' ')} failed: ${r.stderr}`);
  const result = JSON.parse(r.stdout.trim().split('\n').pop());
  result.at = new Date().toISOString();
  appendFileSync(out, `${JSON.stringify(result)}\n`);
  return result;
}

const rows = [];
for (const durability of modes) {
  for (const c of concurrencies) {
    for (const g of groupCounts) {
      for (const w of workerCounts) {
        process.stderr.write(`raftledger ${durability} C=${c} G=${g} W=${w} ...\n`);
        rows.push(
          bench(['--durability', durability, '--concurrency', c, '--groups', g, '--workers', w, '--size', size, '--duration', duration, '--warmup', warmup]),
        );
      }
    }
  }
}
const baseOf = (r) => rows.find((b) => b.workers === 0 && b.durability === r.durability && b.concurrency === r.concurrency && b.groups === r.groups);
console.log('durability  C     G   W     ops/s  x W=0    MB/s   p50 ms   p99 ms  p999 ms   max ms  errors  loop p99 ms');
for (const r of rows) {
  const base = baseOf(r);
  const ratio = base === undefined ? '-' : (r.opsPerSec / base.opsPerSec).toFixed(2);
  console.log(
    `${r.durability.padEnd(10)} ${String(r.concurrency).padStart(3)} ${String(r.groups).padStart(5)} ${String(r.workers).padStart(3)} ${String(r.opsPerSec).padStart(9)} ${ratio.padStart(6)} ${String(r.MBps).padStart(7)} ${String(r.latMs.p50).padStart(8)} ${String(r.latMs.p99).padStart(8)} ${String(r.latMs.p999).padStart(8)} ${String(r.latMs.max).padStart(8)} ${String(r.errors).padStart(7)} ${String(r.serverMainLoopDelayP99Ms?.worst ?? '-').padStart(12)}`,
  );
}
if (Number(failovers) > 0) {
  const f = bench(['--failover', failovers]);
  console.log(`failover over ${failovers} kills: median ${f.failoverMs.median.toFixed(0)} ms, max ${f.failoverMs.max.toFixed(0)} ms`);
}
console.log(`results appended to ${out}`);

if (reportDir !== undefined) {
  const files = writeBenchReport(reportDir, [...rows, ...peerCells]);
  console.log(`report: ${files.html} (${rows.length} raftledger cell(s), ${peerCells.length} peer cell(s))`);
}
