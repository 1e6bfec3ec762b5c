// `npm run bench`: run benchmarks in sequence, each as its own node process (so one's
// threads, mappings and heap never skew the next), and exit non-zero if any failed.
//   npm run bench                      the micro benchmarks: crc32c, raft-core, storage --quick
//   npm run bench -- host storage      the named ones, with their default options
//   npm run bench -- --list            what exists
// To pass options, run a benchmark's file directly: each file lists its flags at the top.
// Needs dist/ and the addon (npm ci builds both).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCHES = {
  crc32c: { file: 'crc32c.mjs', args: [], what: "CRC32C: the addon against npm packages" },
  'raft-core': { file: 'raft-core.mjs', args: [], what: 'the Raft core alone, in memory, and the simulator' },
  storage: { file: 'storage.mjs', args: ['--quick'], what: 'append throughput, open time, verify throughput (quick sizes)' },
  host: { file: 'host.mjs', args: [], what: 'LedgerHost scaling over worker threads, in one process' },
  'startup-check': { file: 'startup-check.mjs', args: [], what: 'the startup check on the calling thread against worker threads' },
  cluster: { file: 'cluster/matrix.mjs', args: [], what: 'the DESIGN.md workload matrix against local server processes' },
  'loopback-floor': { file: 'cluster/loopback-floor.mjs', args: [], what: "an append's message pattern with no storage or Raft: this machine's latency floor and rate ceiling" },
  'metrics-cost': { file: 'metrics-cost.mjs', args: [], what: 'throughput with --metrics scraped every second against off, alternating in one run' },
};
const MICRO = ['crc32c', 'raft-core', 'storage'];

const names = process.argv.slice(2);
if (names.includes('--list') || names.includes('--help') || names.includes('-h')) {
  for (const [name, b] of Object.entries(BENCHES)) process.stdout.write(`${name.padEnd(14)} bench/${b.file.padEnd(20)} ${b.what}\n`);
  process.stdout.write(`(default: ${MICRO.join(', ')})\n`);
  process.exit(0);
}
const unknown = names.filter((n) => !(n in BENCHES));
if (unknown.length > 0) {
  process.stderr.write(`bench/run.mjs: unknown benchmark(s) ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}\n`);
  process.exit(2);
}

let failed = 0;
for (const name of names.length > 0 ? names : MICRO) {
  const b = BENCHES[name];
  const file = fileURLToPath(new URL(b.file, import.meta.url));
  process.stdout.write(`\n== ${name}: node bench/${b.file} ${b.args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [file, ...b.args], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`== ${name} failed (${r.signal ?? `exit ${r.status}`})\n`);
  }
}
process.exit(failed === 0 ? 0 : 1);
