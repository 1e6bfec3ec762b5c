// Failover time against spurious elections, per Raft timing, in one run: for each timing
// (heartbeat ticks / election ticks, 10 ms ticks), `raftledger bench --failover K` (SIGKILL
// of the leader to the next acknowledged append) and a full-load throughput run of S
// seconds without faults, whose termChanges must be 0 (any is a spurious election).
//   node bench/cluster/failover-tuning.mjs [--timings 10/50,5/25] [--kills 10] [--load-seconds 60]
//        [--durability memory] [--concurrency 128]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HEAP_NODE_FLAGS } from '../../dist/tools/node-flags.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log('Usage: node bench/cluster/failover-tuning.mjs [--timings 10/50,5/25] [--kills 10] [--load-seconds 60] [--durability memory] [--concurrency 128]');
  process.exit(0);
}
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const timings = arg('timings', '10/50,5/25').split(',').map((t) => {
  const [h, e] = t.split('/').map(Number);
  if (!Number.isInteger(h) || !Number.isInteger(e) || h < 1 || e <= h) {
    console.error(`failover-tuning: --timings wants H/E pairs with E > H >= 1, got ${t}`);
    process.exit(2);
  }
  return { h, e };
});
const kills = arg('kills', '10');
const loadSeconds = arg('load-seconds', '60');
const durability = arg('durability', 'memory');
const concurrency = arg('concurrency', '128');

function bench(extra) {
  const r = spawnSync(process.execPath, [...HEAP_NODE_FLAGS, MAIN, 'bench', '--durability', durability, '--json', ...extra], { encoding: 'utf8', timeout: 15 * 60_000 });
  if (r.status !== 0) throw new Error(`bench ${extra.join(' ')} failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const rows = [];
for (const { h, e } of timings) {
  const timing = ['--heartbeat-ticks', String(h), '--election-ticks', String(e)];
  process.stderr.write(`timing ${h}/${e}: failover x${kills} ...\n`);
  const f = bench([...timing, '--failover', kills]);
  process.stderr.write(`timing ${h}/${e}: ${loadSeconds} s full load ...\n`);
  const t = bench([...timing, '--concurrency', concurrency, '--duration', loadSeconds, '--warmup', '2']);
  const row = { heartbeatTicks: h, electionTicks: e, failoverMedianMs: Math.round(f.failoverMs.median), failoverMaxMs: Math.round(f.failoverMs.max), samplesMs: f.samplesMs.map(Math.round), loadSeconds: t.seconds, opsPerSec: t.opsPerSec, p99Ms: t.latMs.p99, termChanges: t.termChanges, longestServerStallMs: t.serverMainLoopDelayMaxMs.worst };
  rows.push(row);
  console.log(JSON.stringify(row));
}
console.log('heartbeat/election  failover median  max (ms)  spurious term changes in the load run  ops/s  longest server stall (ms)');
for (const r of rows) console.log(`${`${r.heartbeatTicks}/${r.electionTicks}`.padEnd(19)} ${String(r.failoverMedianMs).padStart(15)} ${String(r.failoverMaxMs).padStart(9)} ${String(r.termChanges).padStart(39)} ${String(r.opsPerSec).padStart(6)} ${String(r.longestServerStallMs).padStart(26)}`);
