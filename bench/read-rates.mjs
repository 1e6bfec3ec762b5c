// Read rates per consistency level (issue 15): a fresh 3-server local cluster (the same
// LocalCluster `raftledger bench` starts), R concurrent readers in a closed loop doing
// commitPosition and/or readRange(recent committed index, { limit: 1 }) with 'linearizable',
// then 'lease', then 'follower', each for --seconds S, in the same run and on the same cluster,
// optionally with W writers appending beside them. Prints a readable table and one JSON line
// with reads/s and p50/p99 per level and the ratios against linearizable. Bounded: the whole
// run is stopped after 3 * S + 120 s whatever happens.
//
// Needs a build: npm run build (dist/) first.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect } from '../dist/client/index.js';
import { LocalCluster } from '../dist/tools/cluster/local-cluster.js';
import { waitForLeader } from '../dist/tools/cluster/cluster-status.js';
import { LatencyHistogram } from '../dist/tools/cluster/latency-histogram.js';
import { machineOf } from '../dist/tools/cluster/bench-run.js';

const USAGE = `usage: node bench/read-rates.mjs [--seconds 10] [--readers 128] [--clients 4] [--writers 0]
                                [--size 100] [--op commitPosition|readRange|both] [--durability fsync|memory]
                                [--levels linearizable,lease,follower] [--dir DIR]

Starts 3 local server processes (one group, no workers) in a temporary directory, and runs
--readers concurrent readers (spread over --clients client connections) in a closed loop for
--seconds per consistency level, the levels one after the other on the same cluster.
  --op commitPosition   each read is client.commitPosition({ consistency })
  --op readRange        each read is client.readRange(i, { limit: 1, consistency }) of a recent
                        committed index i (the newest known one)
  --op both             the readers alternate the two
  --writers W           W closed-loop appenders of --size bytes run beside the readers the whole time
Prints a table, then one JSON line: per level reads, reads/s, p50/p99/max ms, errors, and the
ratios of each level's reads/s to linearizable's. Exit 0 on success, 1 on an error.
`;

function flags(defaults) {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]?.replace(/^--/, '');
    if (name === undefined || !(name in defaults)) throw new Error(`unknown flag ${argv[i]} (see --help)`);
    const raw = argv[i + 1];
    if (raw === undefined) throw new Error(`--${name} needs a value`);
    if (typeof defaults[name] === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${raw}`);
      out[name] = n;
    } else out[name] = raw;
  }
  return out;
}

const LEVELS = ['linearizable', 'lease', 'follower'];
const o = flags({ seconds: 10, readers: 128, clients: 4, writers: 0, size: 100, op: 'commitPosition', durability: 'fsync', levels: LEVELS.join(','), dir: '' });
const levels = o.levels.split(',');
for (const l of levels) if (!LEVELS.includes(l)) throw new Error(`--levels: unknown level ${l}`);
if (!['commitPosition', 'readRange', 'both'].includes(o.op)) throw new Error(`--op must be commitPosition, readRange or both, got ${o.op}`);
if (!['fsync', 'memory'].includes(o.durability)) throw new Error(`--durability must be fsync or memory`);
if (o.seconds <= 0 || o.readers < 1 || o.clients < 1) throw new Error('--seconds, --readers and --clients must be positive');

const say = (line) => process.stderr.write(`${line}\n`);
const root = o.dir !== '' ? o.dir : mkdtempSync(join(tmpdir(), 'raftledger-read-rates-'));
const cluster = new LocalCluster({ replicas: 3, dir: root, durability: o.durability, groups: 1, workers: 0 });
const clients = [];
const hardStop = setTimeout(() => {
  say('read-rates: hard time limit reached, stopping');
  LocalCluster.killAllNow();
  process.exit(1);
}, (3 * o.seconds + 120) * 1000);
hardStop.unref();

/** The newest committed index the run knows of (raised by writer acks and commitPosition answers). */
let recentIndex = 1;

async function writerLoop(client, stopAt, counts) {
  const payload = Buffer.alloc(o.size, 0x61);
  while (performance.now() < stopAt) {
    try {
      const ack = await client.append(payload);
      counts.appends++;
      if (ack.index > recentIndex) recentIndex = ack.index;
    } catch {
      counts.errors++;
    }
  }
}

async function readerLoop(client, consistency, k, stopAt, hist, counts) {
  let n = k;
  while (performance.now() < stopAt) {
    const t0 = performance.now();
    try {
      const range = o.op === 'readRange' || (o.op === 'both' && n % 2 === 1);
      if (range) {
        await client.readRange(recentIndex, { limit: 1, consistency, includeSystem: true });
      } else {
        const p = await client.commitPosition({ consistency });
        if (p.index > recentIndex) recentIndex = p.index;
      }
      hist.record(performance.now() - t0);
      counts.reads++;
    } catch {
      counts.errors++;
    }
    n++;
  }
}

const round3 = (x) => Number(x.toFixed(3));

async function main() {
  say(`read-rates: starting 3 servers (${o.durability}) in ${root}`);
  await cluster.start();
  for (let i = 0; i < o.clients; i++) clients.push(await connect({ servers: cluster.clientAddresses, idempotent: false }));
  await waitForLeader(clients[0], 30_000);
  const seed = await clients[0].appendBatch(Array.from({ length: 16 }, () => Buffer.alloc(o.size, 0x62)));
  recentIndex = seed.at(-1).index;
  const writeCounts = { appends: 0, errors: 0 };
  const totalMs = levels.length * o.seconds * 1000;
  const writersDone = Promise.all(Array.from({ length: o.writers }, (_, w) => writerLoop(clients[w % clients.length], performance.now() + totalMs, writeCounts)));
  const results = {};
  for (const level of levels) {
    say(`read-rates: ${level}: ${o.readers} readers, ${o.seconds} s, op ${o.op}${o.writers > 0 ? `, ${o.writers} writers` : ''}`);
    const hist = new LatencyHistogram();
    const counts = { reads: 0, errors: 0 };
    const started = performance.now();
    const stopAt = started + o.seconds * 1000;
    await Promise.all(Array.from({ length: o.readers }, (_, k) => readerLoop(clients[k % clients.length], level, k, stopAt, hist, counts)));
    const seconds = (performance.now() - started) / 1000;
    results[level] = {
      reads: counts.reads,
      readsPerSec: Math.round(counts.reads / seconds),
      p50Ms: round3(hist.percentile(50)),
      p99Ms: round3(hist.percentile(99)),
      maxMs: round3(hist.maxMs),
      errors: counts.errors,
      seconds: round3(seconds),
    };
  }
  await writersDone;
  const base = results.linearizable?.readsPerSec;
  const ratios = base > 0 ? Object.fromEntries(levels.map((l) => [l, round3(results[l].readsPerSec / base)])) : {};
  const rows = levels.map((l) => {
    const r = results[l];
    return `${l.padEnd(13)} ${String(r.readsPerSec).padStart(10)} ${r.p50Ms.toFixed(3).padStart(10)} ${r.p99Ms.toFixed(3).padStart(10)} ${String(r.errors).padStart(7)} ${ratios[l] !== undefined ? `${ratios[l].toFixed(2)}x`.padStart(8) : '       -'}`;
  });
  process.stdout.write(`${'level'.padEnd(13)} ${'reads/s'.padStart(10)} ${'p50 ms'.padStart(10)} ${'p99 ms'.padStart(10)} ${'errors'.padStart(7)} ${'vs lin'.padStart(8)}\n${rows.join('\n')}\n`);
  if (o.writers > 0) process.stdout.write(`writers: ${writeCounts.appends} appends (${Math.round(writeCounts.appends / (totalMs / 1000))}/s), ${writeCounts.errors} errors\n`);
  const command = `node bench/read-rates.mjs ${process.argv.slice(2).join(' ')}`.trim();
  process.stdout.write(
    `${JSON.stringify({ bench: 'read-rates', command, replicas: 3, durability: o.durability, readers: o.readers, clients: o.clients, writers: o.writers, op: o.op, secondsPerLevel: o.seconds, levels: results, ratiosToLinearizable: ratios, appends: writeCounts.appends, machine: machineOf() })}\n`,
  );
}

let failed = false;
try {
  await main();
} catch (error) {
  failed = true;
  say(`read-rates: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  for (const c of clients) await c.close().catch(() => {});
  await cluster.stop();
  if (o.dir === '') rmSync(root, { recursive: true, force: true });
  clearTimeout(hardStop);
}
process.exit(failed ? 1 : 0);
