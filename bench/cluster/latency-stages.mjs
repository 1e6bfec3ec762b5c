// Where the latency of one append goes, at C = 1: runs `raftledger bench --concurrency 1`
// with every socket write and read of the load generator and the three servers stamped
// (socket-trace.mjs, preloaded into all four processes), then cuts each append into its
// hops and its per-process stages (src/tools/cluster/latency-stages.ts) and prints their
// p25 / p50 / p75 in microseconds. The stamping costs a few us per socket call, so the
// bench's own p50 is printed beside it.
//   node bench/cluster/latency-stages.mjs [--durability memory] [--duration 6] [--size 1024] [--json true]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { appendStages, parseSocketTrace } from '../../dist/tools/cluster/latency-stages.js';
import { HEAP_NODE_FLAGS } from '../../dist/tools/node-flags.js';
import { benchArgs } from '../args.mjs';

const HELP = 'usage: node bench/cluster/latency-stages.mjs [--durability memory|fsync] [--duration 6] [--size 1024 (>= 512)] [--json true]';
const { arg, num } = benchArgs(HELP, ['durability', 'duration', 'size', 'json']);
const durability = arg('durability', 'memory');
if (durability !== 'memory' && durability !== 'fsync') {
  process.stderr.write(`--durability must be memory or fsync\n${HELP}\n`);
  process.exit(2);
}
const durationS = num('duration', '6', 1);
const sizeBytes = num('size', '1024', 512);
const json = arg('json', 'false') === 'true';
const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const PRELOAD = fileURLToPath(new URL('./socket-trace.mjs', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'raftledger-stages-'));
const cleanup = () => rmSync(dir, { recursive: true, force: true });
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

const r = spawnSync(
  process.execPath,
  [...HEAP_NODE_FLAGS, '--import', PRELOAD, MAIN, 'bench', '--durability', durability, '--concurrency', '1', '--size', String(sizeBytes), '--duration', String(durationS), '--json'],
  {
    encoding: 'utf8',
    timeout: (durationS + 120) * 1000,
    env: { ...process.env, RAFTLEDGER_SOCKET_TRACE_DIR: dir, RAFTLEDGER_SERVER_NODE_ARGS: `${process.env.RAFTLEDGER_SERVER_NODE_ARGS ?? ''} --import ${PRELOAD}` },
  },
);
if (r.status !== 0) {
  process.stderr.write(`latency-stages: bench failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}\n`);
  process.exit(1);
}
const cell = JSON.parse(r.stdout.trim().split('\n').pop());
const events = readdirSync(dir)
  .filter((f) => f.endsWith('.txt'))
  .flatMap((f) => parseSocketTrace(basename(f, '.txt'), readFileSync(join(dir, f), 'utf8')));
// A request carries the payload; acks and responses are far smaller than 512 bytes.
const stages = appendStages(events, sizeBytes);
if (json) {
  console.log(JSON.stringify({ durability, sizeBytes, benchP50Ms: cell.latMs.p50, node: process.version, ...stages }));
} else {
  console.log(`${durability}, ${sizeBytes} B, C=1: bench p50 ${cell.latMs.p50} ms; ${stages.samples} appends traced, leader ${stages.leader} (us)`);
  const row = (s) => console.log(`  ${s.name.padEnd(34)} p50 ${String(s.p50Us).padStart(7)}   p25 ${String(s.p25Us).padStart(7)}   p75 ${String(s.p75Us).padStart(7)}`);
  for (const s of stages.stages) row(s);
  row(stages.total);
  row(stages.clientTurn);
}
