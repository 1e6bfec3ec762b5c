// A/B in one window: `raftledger bench --json` with two sets of flags, alternating A, B, A,
// B ... for R rounds on fresh clusters, then the median of the per-round ratios B/A of
// throughput and of CPU per append (all processes, from /proc), with their range. A
// machine whose speed drifts over minutes moves A and B of one round together, so the
// per-round ratio is steadier than either figure alone.
//
//   node bench/cluster/ab.mjs --a "--idempotent false" --b "--idempotent true" \
//        [--rounds 6] [--dist-a DIR] [--dist-b DIR] [--node-a PATH] [--node-b PATH] [--json] \
//        -- --durability memory --duration 8
//
// Everything after `--` is passed to both sides. --dist-a / --dist-b run the CLI of another
// build (default: this checkout's dist/), to compare two commits with the same flags.
// --node-a / --node-b run a side on another Node binary (default: the one running this
// script); the load generator and the servers it starts both run on it (LocalCluster
// spawns its own process.execPath), so this compares whole runtimes.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HEAP_NODE_FLAGS } from '../../dist/tools/node-flags.js';

const USAGE = `usage: node bench/cluster/ab.mjs --a "FLAGS" --b "FLAGS" [--rounds R (default 6)]
       [--dist-a DIR] [--dist-b DIR] [--node-a PATH] [--node-b PATH] [--json] [-- FLAGS FOR BOTH]`;

function fail(message) {
  console.error(`ab: ${message}\n${USAGE}`);
  process.exit(2);
}

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const split = argv.indexOf('--');
const own = split < 0 ? argv : argv.slice(0, split);
const common = split < 0 ? [] : argv.slice(split + 1);
const opts = { a: '', b: '', rounds: '6', 'dist-a': '', 'dist-b': '', 'node-a': '', 'node-b': '', json: false };
for (let i = 0; i < own.length; i++) {
  const key = own[i].replace(/^--/, '');
  if (!own[i].startsWith('--') || !(key in opts)) fail(`unknown argument ${own[i]}`);
  if (key === 'json') opts.json = true;
  else if (i + 1 >= own.length) fail(`${own[i]} needs a value`);
  else opts[key] = own[++i];
}
const rounds = Number(opts.rounds);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) fail(`--rounds must be an integer in 1..100, got ${opts.rounds}`);
if (['a', 'b', 'dist-a', 'dist-b', 'node-a', 'node-b'].every((k) => opts[k] === '')) {
  fail('give --a / --b flags, --dist-a / --dist-b builds or --node-a / --node-b runtimes that differ');
}
const here = resolve(fileURLToPath(import.meta.url), '../../../dist');
const distOf = (d) => {
  const dir = resolve(d === '' ? here : d);
  const cli = join(dir, 'cli/main.js');
  if (!existsSync(cli)) fail(`no CLI at ${cli} (build with npm run build:ts)`);
  return cli;
};
/** The Node binary for one side, with the version it reports (so the summary names the runtime it measured). */
const nodeOf = (given, flag) => {
  const bin = given === '' ? process.execPath : resolve(given);
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0 || !/^v\d+\./.test(r.stdout)) fail(`${flag} ${given}: not a Node binary (${r.error?.message ?? `exit ${r.status}`})`);
  return { bin, version: r.stdout.trim() };
};
const sides = [
  { name: 'A', cli: distOf(opts['dist-a']), node: nodeOf(opts['node-a'], '--node-a'), flags: opts.a.split(/\s+/).filter(Boolean) },
  { name: 'B', cli: distOf(opts['dist-b']), node: nodeOf(opts['node-b'], '--node-b'), flags: opts.b.split(/\s+/).filter(Boolean) },
];

function runOnce(side) {
  // Both sides' load generators run with this checkout's heap flags (src/tools/node-flags.ts).
  const args = [...HEAP_NODE_FLAGS, side.cli, 'bench', ...common, ...side.flags, '--json'];
  const r = spawnSync(side.node.bin, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    console.error(r.stderr);
    fail(`bench ${side.name} exited with ${r.status ?? r.signal}: ${side.node.bin} ${args.join(' ')}`);
  }
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
  if (line === undefined) fail(`bench ${side.name} printed no JSON line`);
  const cell = JSON.parse(line);
  const c = Array.isArray(cell.cells) ? cell.cells[0] : cell;
  return { opsPerSec: c.opsPerSec, usPerAppend: c.cpu?.usPerAppend, p50Ms: c.latMs?.p50, p99Ms: c.latMs?.p99, termChanges: c.termChanges };
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const perRound = [];
for (let r = 1; r <= rounds; r++) {
  const a = runOnce(sides[0]);
  const b = runOnce(sides[1]);
  const row = { round: r, a, b, opsRatio: b.opsPerSec / a.opsPerSec, cpuRatio: b.usPerAppend / a.usPerAppend };
  perRound.push(row);
  console.error(
    `round ${r}/${rounds}: A ${a.opsPerSec} ops/s ${a.usPerAppend} us/append p50 ${a.p50Ms} p99 ${a.p99Ms} ms | B ${b.opsPerSec} ops/s ${b.usPerAppend} us/append p50 ${b.p50Ms} p99 ${b.p99Ms} ms | B/A ops ${row.opsRatio.toFixed(3)} cpu ${row.cpuRatio.toFixed(3)}`,
  );
}
const ops = perRound.map((x) => x.opsRatio);
const cpu = perRound.map((x) => x.cpuRatio);
/** One side's setup and the medians of its figures over the rounds (`key`: 'a' or 'b'). */
const sideSummary = (side, key) => {
  const of = (field) => median(perRound.map((x) => x[key][field]));
  return { flags: side.flags.join(' '), cli: side.cli, node: side.node.version, opsPerSecMedian: of('opsPerSec'), usPerAppendMedian: of('usPerAppend'), p50MsMedian: of('p50Ms'), p99MsMedian: of('p99Ms') };
};
const summary = {
  a: sideSummary(sides[0], 'a'),
  b: sideSummary(sides[1], 'b'),
  common: common.join(' '),
  rounds,
  opsRatio: { median: median(ops), min: Math.min(...ops), max: Math.max(...ops) },
  cpuRatio: { median: median(cpu), min: Math.min(...cpu), max: Math.max(...cpu) },
};
if (opts.json) console.log(JSON.stringify({ ...summary, perRound }));
else {
  const f = (x) => x.toFixed(3);
  for (const [name, s] of [['A', summary.a], ['B', summary.b]]) {
    console.log(`${name} [${s.flags}] node ${s.node} median ${s.opsPerSecMedian} ops/s, ${s.usPerAppendMedian} us/append, p50 ${s.p50MsMedian} ms, p99 ${s.p99MsMedian} ms`);
  }
  console.log(`B/A over ${rounds} rounds: throughput median ${f(summary.opsRatio.median)} (${f(summary.opsRatio.min)}..${f(summary.opsRatio.max)}), CPU per append median ${f(summary.cpuRatio.median)} (${f(summary.cpuRatio.min)}..${f(summary.cpuRatio.max)})`);
}
