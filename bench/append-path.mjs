// The CPU cost of one append on the whole path, in one process: three `raftledger server`
// replicas (Server.start, memory durability) on loopback and one network client, all on
// this thread, so the figure is CPU microseconds per acknowledged append
// (process.cpuUsage over a fixed count of appends), which a busy machine disturbs far less
// than throughput. Runs each mode in turn on a fresh cluster, rounds times, alternating.
//   node bench/append-path.mjs [--appends 60000] [--concurrency 128] [--size 1024]
//        [--rounds 3] [--modes idempotent,at-least-once] [--dist DIR (default ../dist)]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { randomFillSync } from 'node:crypto';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
if (process.argv.includes('--help')) {
  console.log('usage: node bench/append-path.mjs [--appends N] [--concurrency C] [--size B] [--rounds R] [--modes idempotent,at-least-once] [--dist DIR]');
  process.exit(0);
}
const appends = Number(arg('appends', '60000'));
const concurrency = Number(arg('concurrency', '128'));
const size = Number(arg('size', '1024'));
const rounds = Number(arg('rounds', '3'));
const modes = arg('modes', 'idempotent,at-least-once').split(',');
const dist = resolve(arg('dist', join(fileURLToPath(import.meta.url), '../../dist')));
for (const [k, v] of [['appends', appends], ['concurrency', concurrency], ['size', size], ['rounds', rounds]]) {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`--${k} must be a positive integer`);
}
const load = (p) => import(pathToFileURL(join(dist, p)).href);
const { Server } = await load('server/server.js');
const { validateConfig } = await load('server/config.js');
const { connect } = await load('client/index.js');
const { reserveNodeAddresses } = await load('tools/cluster/ports.js');

async function once(mode) {
  const root = mkdtempSync(join(tmpdir(), 'raftledger-append-path-'));
  const ids = ['n0', 'n1', 'n2'];
  const peers = await reserveNodeAddresses(ids);
  const servers = [];
  let client;
  try {
    for (const id of ids) {
      servers.push(await Server.start(validateConfig({ id, dir: join(root, id), peers, durability: 'memory', segmentSizeBytes: 64 * 1024 * 1024 }), { log: () => {} }));
    }
    const options = { servers: ids.map((id) => peers[id].client), deadlineMs: 30_000 };
    if (mode === 'at-least-once') options.idempotent = false;
    client = await connect(options);
    const payload = Buffer.alloc(size);
    randomFillSync(payload);
    const run = async (count) => {
      let issued = 0;
      const worker = async () => {
        while (issued < count) {
          issued++;
          await client.append(payload);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
    };
    await client.append(payload); // one first: the leader is known before C appends race
    await run(Math.ceil(appends / 5)); // warm-up: JIT, leader known, segments mapped
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await run(appends);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { usPerAppend: (cpu.user + cpu.system) / appends, opsPerSec: (appends / wallMs) * 1000 };
  } finally {
    await client?.close();
    for (const s of servers) await s.close();
    rmSync(root, { recursive: true, force: true });
  }
}

const results = Object.fromEntries(modes.map((m) => [m, []]));
for (let r = 0; r < rounds; r++) {
  for (const mode of modes) {
    const x = await once(mode);
    results[mode].push(x);
    console.error(`round ${r + 1}/${rounds} ${mode}: ${x.usPerAppend.toFixed(2)} us CPU/append, ${Math.round(x.opsPerSec)} appends/s`);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const summary = Object.fromEntries(modes.map((m) => [m, { usPerAppendMedian: median(results[m].map((x) => x.usPerAppend)), opsPerSecMedian: Math.round(median(results[m].map((x) => x.opsPerSec))) }]));
console.log(JSON.stringify({ dist, appends, concurrency, size, rounds, summary }));
